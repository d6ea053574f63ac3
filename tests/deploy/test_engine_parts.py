"""Change-set naming and "no changes", the poll schedule, the event reader, root causes, uploads and output."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from botocore.stub import Stubber

from deployer.changeset import format_changes, is_no_changes, is_ours, new_change_set_name
from deployer.clients import is_transient, is_transient_error
from deployer.errors import BadInput
from deployer.events import EventReader, hint_for, operation_events, poll_interval, root_cause
from deployer.inputs import INLINE_TEMPLATE_LIMIT
from deployer.output import LiveReporter, PlainReporter
from deployer.upload import check_upload_possible, needs_upload, object_key, upload_template
from tests.deploy.conftest import STACK, STACK_ID, Harness, stubbed_client


@pytest.mark.parametrize(
    "text",
    [
        "The submitted information didn't contain changes. Submit different information to create a change set.",
        "No updates are to be performed.",
        "the submitted information does not contain changes",
    ],
)
def test_both_aws_no_changes_wordings_are_recognised(text: str) -> None:
    assert is_no_changes(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "Template format error: Unresolved resource dependencies [X]",
        "Requires capabilities : [CAPABILITY_IAM]",
    ],
)
def test_other_failure_reasons_are_not_mistaken_for_no_changes(text: str | None) -> None:
    assert not is_no_changes(text)


def test_change_set_names_are_unique_prefixed_and_valid() -> None:
    names = {new_change_set_name("UPDATE") for _ in range(100)}
    assert len(names) == 100
    assert all(is_ours(n) and n[0].isalpha() and len(n) <= 128 for n in names)


def test_each_change_line_shows_action_id_type_replacement_and_scope() -> None:
    lines = format_changes(
        [
            {
                "Action": "Modify",
                "LogicalResourceId": "Fleet",
                "ResourceType": "AWS::AutoScaling::AutoScalingGroup",
                "Replacement": "Conditional",
                "Scope": ["Properties"],
                "Details": [
                    {
                        "Target": {
                            "Name": "MinSize",
                            "RequiresRecreation": "Never",
                            "BeforeValue": "2",
                            "AfterValue": "3",
                        }
                    }
                ],
            }
        ]
    )
    assert all(
        word in lines[1] for word in ("Modify", "Fleet", "AutoScalingGroup", "Conditional", "Properties")
    )
    assert "MinSize" in lines[2] and "2 -> 3" in lines[2]


@pytest.mark.parametrize(
    ("waited", "interval"),
    [(0.0, 1.0), (5.0, 1.0), (10.0, 1.0), (15.0, 1.5), (20.0, 2.0), (42.0, 4.2), (50.0, 5.0), (600.0, 5.0)],
)
def test_poll_interval_is_a_tenth_of_the_time_waited_between_one_and_five_seconds(
    waited: float, interval: float
) -> None:
    assert poll_interval(waited) == pytest.approx(interval)


def test_poll_interval_honours_the_configured_floor_and_cap() -> None:
    assert poll_interval(3.0, first=2.0, cap=8.0) == 2.0
    assert poll_interval(60.0, first=2.0, cap=8.0) == 6.0
    assert poll_interval(3600.0, first=2.0, cap=8.0) == 8.0
    assert poll_interval(3600.0, first=0.0, cap=0.0) == 0.0


def test_poll_interval_never_shrinks_as_the_wait_goes_on() -> None:
    intervals = [poll_interval(float(t)) for t in range(0, 120)]
    assert intervals == sorted(intervals)


def test_event_reader_reads_only_events_newer_than_the_last_seen(harness: Harness) -> None:
    old, new1, new2 = (
        harness.event("Topic", s) for s in ("CREATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE")
    )
    harness.expect_events([old], next_token="more")
    harness.expect_events([new1, old], next_token="more")
    harness.expect_events([new2, new1, old], next_token="more")
    with harness.stub:
        reader = EventReader(harness.cfn, STACK_ID)
        reader.prime()
        assert [e["EventId"] for e in reader.new_events()] == [new1["EventId"]]
        assert [e["EventId"] for e in reader.new_events()] == [new2["EventId"]]
        harness.stub.assert_no_pending_responses()
    assert reader.pages_read == 3  # never the next page: each read stopped at the last seen event


def ev(logical_id: str, status: str, reason: str = "", rtype: str = "AWS::EC2::Instance") -> dict[str, Any]:
    physical = STACK_ID if logical_id == STACK else logical_id
    rtype = "AWS::CloudFormation::Stack" if logical_id == STACK else rtype
    return {
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical,
        "ResourceType": rtype,
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
    }


def test_root_cause_is_the_first_failure_skipping_the_cancellation_cascade() -> None:
    events = [
        ev("A", "CREATE_FAILED", "Resource creation cancelled"),
        ev("B", "CREATE_FAILED", "Client.InvalidKMSKey.InvalidState: key is disabled"),
        ev("C", "CREATE_FAILED", "later failure"),
        ev(STACK, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [A, B, C]"),
    ]
    cause = root_cause(events, STACK_ID)
    assert cause is not None and cause.logical_id == "B"
    assert cause.hint and "KMS" in cause.hint


def test_root_cause_is_none_when_nothing_failed() -> None:
    assert root_cause([ev("A", "CREATE_COMPLETE")], STACK_ID) is None


@pytest.mark.parametrize(
    ("reason", "word"),
    [
        ("Client.InvalidKMSKey.InvalidState", "Auto Scaling"),
        ("my-Bucket: Bucket name should not contain uppercase characters", "lower-case"),
        ("tap-logs already exists in stack arn:...", "exists outside the stack"),
        ("Requires capabilities : [CAPABILITY_IAM]", "--capabilities"),
        ("InsufficientCapabilities", "--capabilities"),
    ],
)
def test_known_errors_get_a_one_line_hint(reason: str, word: str) -> None:
    hint = hint_for(reason)
    assert hint is not None and word in hint and "\n" not in hint


def test_template_size_is_measured_in_utf8_bytes_not_characters() -> None:
    body = "é" * (INLINE_TEMPLATE_LIMIT // 2 + 1)  # under the limit in characters, over it in bytes
    assert len(body) < INLINE_TEMPLATE_LIMIT and needs_upload(body)
    with pytest.raises(BadInput):
        check_upload_possible(body, None)


def test_upload_key_is_a_content_hash_under_the_prefix() -> None:
    assert object_key("a", "templates/") == object_key("a", "/templates") != object_key("b", "templates")
    assert object_key("a", None).endswith(".template.json") and "/" not in object_key("a", None)


def test_upload_checks_the_bucket_puts_the_template_and_returns_s3s_standard_url() -> None:
    s3 = stubbed_client("s3")
    with Stubber(s3) as stub:
        stub.add_response("head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": "b"})
        stub.add_response(
            "put_object",
            {},
            {"Bucket": "b", "Key": object_key("{}", "p"), "Body": b"{}", "ContentType": "application/json"},
        )
        url = upload_template(s3, "{}", "b", "p")
    assert url == f"https://b.s3.eu-west-1.amazonaws.com/{object_key('{}', 'p')}"


def test_plain_output_is_one_timestamped_line_per_event_without_control_characters() -> None:
    out = io.StringIO()
    reporter = PlainReporter(out)
    reporter.event(
        {
            "Timestamp": datetime(2024, 5, 1, 12, 0, 3, tzinfo=UTC),
            "ResourceStatus": "CREATE_COMPLETE",
            "ResourceType": "AWS::SNS::Topic",
            "LogicalResourceId": "Topic",
        }
    )
    reporter.progress("app", "CREATE_IN_PROGRESS", 3.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("2024-05-01T12:00:03Z") and "\x1b" not in out.getvalue()


def test_live_output_redraws_in_place_and_keeps_failures_on_screen() -> None:
    out = io.StringIO()
    reporter = LiveReporter(out)
    reporter.progress("app", "UPDATE_IN_PROGRESS", 42)
    reporter.event(
        {"ResourceStatus": "UPDATE_IN_PROGRESS", "ResourceType": "T", "LogicalResourceId": "Fleet"}
    )
    reporter.event(
        {
            "ResourceStatus": "UPDATE_FAILED",
            "ResourceType": "T",
            "LogicalResourceId": "Fleet",
            "ResourceStatusReason": "boom",
        }
    )
    reporter.finish()
    text = out.getvalue()
    assert "\x1b[" in text and "00:42" in text and "boom" in text


def test_event_reader_stops_paging_at_the_last_event_seen(harness: Harness) -> None:
    # Newest first: the last event seen sits on the first page, so the second page is never asked for (Stubber
    # would fail on an unexpected call, and an unused queued page fails assert_no_pending_responses).
    seen, new = harness.event("Topic", "UPDATE_IN_PROGRESS"), harness.event("Topic", "UPDATE_COMPLETE")
    harness.expect_events([seen], next_token="older")
    harness.expect_events([new, seen], next_token="older")
    with harness.stub:
        reader = EventReader(harness.cfn, STACK_ID)
        reader.prime()
        assert [e["EventId"] for e in reader.new_events()] == [new["EventId"]]
        harness.stub.assert_no_pending_responses()
    assert reader.pages_read == 2


def test_operation_events_reach_back_to_the_stacks_own_start_not_a_resources(harness: Harness) -> None:
    # A resource's UPDATE_IN_PROGRESS sits between the failure and the stack's start event: cutting there would
    # lose the real (earlier) failure.
    start = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    first_failure = harness.event("Queue", "UPDATE_FAILED", "Queue name taken", "AWS::SQS::Queue")
    later = harness.event("Topic", "UPDATE_IN_PROGRESS")
    end = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    earlier_operation = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([end, later, first_failure, start, earlier_operation])
    with harness.stub:
        events = operation_events(harness.cfn, STACK_ID)
    assert [e["EventId"] for e in events] == [e["EventId"] for e in (start, first_failure, later, end)]
    cause = root_cause(events, STACK_ID)
    assert cause is not None and cause.logical_id == "Queue"


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("InternalFailure", 500, True),
        ("ServiceUnavailable", 503, True),
        ("500", 500, True),  # botocore's generic error for an unparsable 5xx page
        ("Throttling", 400, True),
        ("ValidationError", 400, False),
        ("AccessDenied", 403, False),
    ],
)
def test_server_errors_and_throttling_are_transient_and_client_errors_are_not(
    code: str, status: int, transient: bool
) -> None:
    err = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )
    assert is_transient(err) is transient
    assert is_transient_error(err) is transient


@pytest.mark.parametrize(
    "err",
    [
        EndpointConnectionError(endpoint_url="https://x"),
        ConnectionClosedError(endpoint_url="https://x"),
        ReadTimeoutError(endpoint_url="https://x"),
        ResponseParserError("invalid XML"),
    ],
)
def test_network_errors_are_transient(err: Exception) -> None:
    assert is_transient_error(err)


def test_no_credentials_is_not_worth_polling_again_for() -> None:
    assert not is_transient_error(NoCredentialsError())

"""DescribeEvents: CloudFormation's own findings when a change set or an operation fails, and the fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

from deployer import features
from deployer.errors import ExitCode
from tests.deploy.conftest import CS_ID, STACK, STACK_ID, T0, Harness, change
from tests.deploy.test_stack_state_scenarios import KEEP_ALL, PREVIOUS

pytestmark = pytest.mark.deploy

REASON = "The template failed validation; see DescribeEvents for details"
OPERATION = "op-7a2f0c1e-5b8d-4e3a-9f6c-1d2e3f4a5b6c"


def finding(logical_id: str, path: str, reason: str, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "EventId": f"ev-{logical_id}",
        "StackId": STACK_ID,
        "OperationId": "op-cs",
        "EventType": "VALIDATION_ERROR",
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::S3::Bucket",
        "Timestamp": T0,
        "ValidationName": "PROPERTY_VALIDATION",
        "ValidationStatus": "FAILED",
        "ValidationFailureMode": "FAIL",
        "ValidationStatusReason": reason,
        "ValidationPath": path,
    }
    event.update(extra)
    return event


def start_failing_change_set(h: Harness) -> None:
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE", Parameters=KEEP_ALL)
    h.expect_change_set_status("FAILED", REASON, execution="UNAVAILABLE")


def test_failed_change_set_prints_every_finding_from_every_page(harness: Harness) -> None:
    start_failing_change_set(harness)
    progress = {
        "EventId": "ev-p",
        "EventType": "PROGRESS_EVENT",
        "LogicalResourceId": "Queue",
        "Timestamp": T0,
    }
    harness.stub.add_response(
        "describe_events",
        {
            "OperationEvents": [
                finding("Bucket", "/Resources/Bucket/Properties/BucketName", "bucket name is not valid"),
                progress,
            ],
            "NextToken": "p2",
        },
        {"ChangeSetName": CS_ID},
    )
    harness.stub.add_response(
        "describe_events",
        {
            "OperationEvents": [
                finding(
                    "Topic",
                    "/Resources/Topic/Properties/KmsMasterKeyId",
                    "key does not exist",
                    ResourceType="AWS::SNS::Topic",
                    ValidationFailureMode="WARN",
                )
            ]
        },
        {"ChangeSetName": CS_ID, "NextToken": "p2"},
    )
    assert harness.run(*harness.deploy_args()) == ExitCode.CHANGE_SET_FAILED
    out = harness.output
    assert (
        "validation error: Bucket (AWS::S3::Bucket) at /Resources/Bucket/Properties/BucketName "
        "[PROPERTY_VALIDATION, FAIL]: bucket name is not valid"
    ) in out
    assert "Topic (AWS::SNS::Topic) at /Resources/Topic/Properties/KmsMasterKeyId" in out  # the second page
    assert "Queue" not in out  # progress events are not findings
    assert REASON in harness.errors
    assert "warning" not in out


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("AccessDenied", "User is not authorized to perform: cloudformation:DescribeEvents", "denied"),
        ("InvalidAction", "Could not find operation DescribeEvents", "does not know DescribeEvents"),
    ],
)
def test_denied_or_unknown_to_the_endpoint_warns_once_and_keeps_the_reason(
    harness: Harness, code: str, message: str, expected: str
) -> None:
    start_failing_change_set(harness)
    harness.stub.add_client_error(
        "describe_events", code, message, 400, expected_params={"ChangeSetName": CS_ID}
    )
    assert harness.run(*harness.deploy_args()) == ExitCode.CHANGE_SET_FAILED
    warnings = [line for line in harness.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and expected in warnings[0]
    assert REASON in harness.errors


def test_a_botocore_without_describe_events_is_not_called_and_says_so(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(features, "supported", lambda feature: feature is not features.DESCRIBE_EVENTS)
    start_failing_change_set(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.CHANGE_SET_FAILED
    assert "DescribeEvents" not in harness.calls
    assert "does not know DescribeEvents" in harness.output
    assert REASON in harness.errors


def test_failed_execution_reads_the_last_operation_s_failed_events(harness: Harness) -> None:
    h = harness
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE", Parameters=KEEP_ALL)
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    old = h.event(STACK, "CREATE_COMPLETE")
    h.expect_events([old])
    h.expect_execute()
    begun = h.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    bad = h.event("Topic", "UPDATE_FAILED", "Invalid parameter: KmsMasterKeyId")
    done = h.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    history = [done, bad, begun, old]
    h.expect_events(history)
    h.expect_stack(
        "UPDATE_ROLLBACK_COMPLETE",
        name=STACK_ID,
        LastOperations=[{"OperationType": "UPDATE_STACK", "OperationId": OPERATION}],
    )
    h.stub.add_response(
        "describe_events",
        {
            "OperationEvents": [
                finding(
                    "Topic",
                    "/Resources/Topic/Properties/KmsMasterKeyId",
                    "Invalid parameter: KmsMasterKeyId",
                    EventType="PROVISIONING_ERROR",
                    ResourceType="AWS::SNS::Topic",
                    ValidationName="",
                    ValidationFailureMode="",
                )
            ]
        },
        {"StackName": STACK_ID, "OperationId": OPERATION, "Filters": {"FailedEvents": True}},
    )
    assert h.run(*h.deploy_args()) == ExitCode.STACK_FAILED
    assert f"findings for operation {OPERATION}" in h.output
    assert (
        "provisioning error: Topic (AWS::SNS::Topic) at /Resources/Topic/Properties/KmsMasterKeyId"
        in h.output
    )
    assert "Root cause: Topic" in h.output

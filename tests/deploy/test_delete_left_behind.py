"""`delete` says what it leaves in the account: the resources whose DeletionPolicy keeps them (Retain,
RetainExceptOnCreate) and those --retain-resources names, with their physical ids read before the delete.
`status` says when the stack last changed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

import deploy
from deployer.errors import ExitCode
from emulator.server import MotoServer
from tests.deploy.conftest import STACK, STACK_ID, T0, Harness

KEPT_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "SiteBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "AppLogs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate"},
        "DataKey": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain"},
        "Alerts": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "Delete"},
        "Queue": {"Type": "AWS::SQS::Queue"},
    }
}


def summary(logical_id: str, resource_type: str, physical_id: str, status: str = "CREATE_COMPLETE") -> Any:
    return {
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "PhysicalResourceId": physical_id,
        "ResourceStatus": status,
        "LastUpdatedTimestamp": T0,
    }


def queue_reads(h: Harness, status: str = "UPDATE_COMPLETE") -> None:
    """DescribeStacks, then two pages of ListStackResources and the deployed template: all before DeleteStack."""
    h.expect_stack(status)
    first = [
        summary("SiteBucket", "AWS::S3::Bucket", "tap-site-dev-123456789012"),
        summary("Alerts", "AWS::SNS::Topic", "arn:aws:sns:us-east-1:123456789012:alerts"),
    ]
    second = [
        summary("AppLogs", "AWS::Logs::LogGroup", "/tap/dev/app"),
        summary("DataKey", "AWS::KMS::Key", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        summary("Queue", "AWS::SQS::Queue", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"),
    ]
    h.stub.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": first, "NextToken": "page-2"},
        {"StackName": STACK_ID},
    )
    h.stub.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": second},
        {"StackName": STACK_ID, "NextToken": "page-2"},
    )
    h.stub.add_response("get_template", {"TemplateBody": json.dumps(KEPT_TEMPLATE)}, {"StackName": STACK_ID})


def queue_delete_complete(h: Harness, **params: object) -> None:
    old = h.event(STACK, "UPDATE_COMPLETE")
    h.expect_events([old])
    h.stub.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY, **params})
    h.expect_events([h.event(STACK, "DELETE_COMPLETE"), h.event(STACK, "DELETE_IN_PROGRESS"), old])
    h.expect_stack("DELETE_COMPLETE", name=STACK_ID)


def test_delete_lists_the_retained_resources_with_their_physical_ids(harness: Harness) -> None:
    queue_reads(harness)
    queue_delete_complete(harness)
    assert harness.run("delete", "--stack-name", STACK, "--yes") == ExitCode.SUCCESS
    harness.stub.assert_no_pending_responses()
    out = harness.output
    assert "Left in the account (3)" in out
    assert "  SiteBucket (AWS::S3::Bucket): tap-site-dev-123456789012 [DeletionPolicy Retain]" in out
    assert "  AppLogs (AWS::Logs::LogGroup): /tap/dev/app [DeletionPolicy RetainExceptOnCreate]" in out
    assert "  DataKey (AWS::KMS::Key): 1234abcd-12ab-34cd-56ef-1234567890ab [DeletionPolicy Retain]" in out
    assert "Alerts" not in out and "jobs" not in out
    assert out.index("deleted") < out.index("Left in the account")
    # Read while the stack still had them: after DeleteStack they can no longer be listed.
    assert harness.calls.index("GetTemplate") < harness.calls.index("DeleteStack")


def test_resources_kept_by_retain_resources_are_listed_too(harness: Harness) -> None:
    queue_reads(harness, status="DELETE_FAILED")
    queue_delete_complete(harness, RetainResources=["Queue"])
    code = harness.run("delete", "--stack-name", STACK, "--yes", "--retain-resources", "Queue")
    assert code == ExitCode.SUCCESS
    assert "Left in the account (4)" in harness.output
    assert (
        "  Queue (AWS::SQS::Queue): https://sqs.us-east-1.amazonaws.com/123456789012/jobs [--retain-resources]"
        in (harness.output)
    )


def test_a_stack_with_nothing_retained_says_so_without_reading_its_template(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    harness.stub.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": [summary("Old", "AWS::SNS::Topic", "arn:x", status="DELETE_COMPLETE")]},
        {"StackName": STACK_ID},
    )
    queue_delete_complete(harness)
    assert harness.run("delete", "--stack-name", STACK, "--yes") == ExitCode.SUCCESS
    assert "Nothing was left behind" in harness.output
    assert "GetTemplate" not in harness.calls


def test_delete_against_the_emulator_names_the_retained_bucket(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.json"
    doc = {
        "Resources": {
            "Site": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "Properties": {"BucketName": "left-behind-site"},
            },
            "Topic": {"Type": "AWS::SNS::Topic"},
        }
    }
    template.write_text(json.dumps(doc))
    common = ["--stack-name", "kept", "--endpoint-url", moto.endpoint, "--yes", "--poll-interval", "0"]
    assert deploy.main(["deploy", "--template-file", str(template), *common]) == ExitCode.SUCCESS
    capsys.readouterr()
    assert deploy.main(["delete", *common]) == ExitCode.SUCCESS
    out = capsys.readouterr().out
    assert "Left in the account (1)" in out
    assert "  Site (AWS::S3::Bucket): left-behind-site [DeletionPolicy Retain]" in out


@pytest.mark.parametrize(
    ("times", "line"),
    [
        (
            {"LastUpdatedTime": T0 + timedelta(days=2, minutes=5)},
            "Last updated: 2024-05-03 12:05:00 UTC (created 2024-05-01 12:00:00 UTC)",
        ),
        ({}, "Last updated: 2024-05-01 12:00:00 UTC (created then, not updated since)"),
        (
            {"LastUpdatedTime": datetime(2024, 5, 3, 16, 5, tzinfo=timezone(timedelta(hours=2)))},
            "Last updated: 2024-05-03 14:05:00 UTC",  # shown in UTC whatever zone the answer is read in
        ),
    ],
)
def test_status_shows_when_the_stack_last_changed(harness: Harness, times: dict[str, Any], line: str) -> None:
    harness.expect_stack("UPDATE_COMPLETE", **times)
    harness.stub.add_response("list_change_sets", {"Summaries": []}, {"StackName": STACK_ID})
    assert harness.run("status", "--stack-name", STACK) == ExitCode.SUCCESS
    assert line in harness.output

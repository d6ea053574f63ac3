"""deploy.py drift: detection, waiting, every page of resource drifts, exit codes 0 / 11 / 12."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.errors import ExitCode
from tests.deploy.conftest import STACK, STACK_ID, T0, Harness

pytestmark = pytest.mark.deploy

DETECTION = "b78ac9b0-dec1-11e7-a451-503a3407c3c9"
FILTERS = ["MODIFIED", "DELETED"]


def expect_detection(h: Harness, *statuses: dict[str, Any]) -> None:
    h.stub.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": STACK})
    for status in statuses:
        h.stub.add_response(
            "describe_stack_drift_detection_status",
            {"StackId": STACK_ID, "StackDriftDetectionId": DETECTION, "Timestamp": T0, **status},
            {"StackDriftDetectionId": DETECTION},
        )


IN_PROGRESS = {"DetectionStatus": "DETECTION_IN_PROGRESS"}


def drifted(logical_id: str, status: str = "MODIFIED", **differences: tuple[str, str]) -> dict[str, Any]:
    return {
        "StackId": STACK_ID,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": f"phys-{logical_id}",
        "ResourceType": "AWS::SNS::Topic",
        "StackResourceDriftStatus": status,
        "Timestamp": T0,
        "PropertyDifferences": [
            {"PropertyPath": path, "ExpectedValue": exp, "ActualValue": act, "DifferenceType": "NOT_EQUAL"}
            for path, (exp, act) in differences.items()
        ],
    }


def expect_drift_page(
    h: Harness, items: list[dict[str, Any]], next_token: str | None = None, token: str | None = None
) -> None:
    params: dict[str, Any] = {"StackName": STACK, "StackResourceDriftStatusFilters": FILTERS}
    if token:
        params["NextToken"] = token
    response: dict[str, Any] = {"StackResourceDrifts": items}
    if next_token:
        response["NextToken"] = next_token
    h.stub.add_response("describe_stack_resource_drifts", response, params)


def test_a_stack_in_sync_exits_0_after_waiting_for_the_detection(harness: Harness) -> None:
    expect_detection(
        harness,
        IN_PROGRESS,
        IN_PROGRESS,
        {
            "DetectionStatus": "DETECTION_COMPLETE",
            "StackDriftStatus": "IN_SYNC",
            "DriftedStackResourceCount": 0,
        },
    )
    expect_drift_page(harness, [])
    assert harness.run("drift", "--stack-name", STACK) == ExitCode.SUCCESS
    assert "in sync" in harness.output
    assert len(harness.clock.sleeps) == 2  # one pause per DETECTION_IN_PROGRESS answer
    assert harness.mutating_calls == []


def test_drift_over_two_pages_prints_each_property_and_exits_11(harness: Harness) -> None:
    expect_detection(
        harness,
        IN_PROGRESS,
        {
            "DetectionStatus": "DETECTION_COMPLETE",
            "StackDriftStatus": "DRIFTED",
            "DriftedStackResourceCount": 2,
        },
    )
    expect_drift_page(harness, [drifted("Topic", DisplayName=("alerts", "renamed by hand"))], next_token="t2")
    expect_drift_page(
        harness,
        [
            drifted("Queue", VisibilityTimeout=("30", "300"), MessageRetentionPeriod=("345600", "60")),
            drifted("Gone", "DELETED"),
        ],
        token="t2",
    )
    report = harness.tmp / "drift.md"
    code = harness.run("drift", "--stack-name", STACK, "--report-file", str(report))
    assert code == ExitCode.DRIFTED == 11
    out = harness.output
    assert "MODIFIED  Topic (AWS::SNS::Topic) phys-Topic" in out
    assert "DisplayName [NOT_EQUAL]\n        expected: alerts\n        actual:   renamed by hand" in out
    assert "VisibilityTimeout" in out and "MessageRetentionPeriod" in out  # read from the second page
    assert "DELETED   Gone" in out and "no longer exists" in out
    assert "3 resource(s) differ" in out
    markdown = report.read_text(encoding="utf-8")
    assert "| `DisplayName` | NOT_EQUAL | `alerts` | `renamed by hand` |" in markdown
    assert "### Gone (AWS::SNS::Topic): DELETED" in markdown


def test_failed_detection_exits_12_with_the_reason_and_shows_what_it_found(harness: Harness) -> None:
    reason = "Failed to detect drift on resource [Fleet]: not supported"
    expect_detection(
        harness,
        {
            "DetectionStatus": "DETECTION_FAILED",
            "StackDriftStatus": "DRIFTED",
            "DetectionStatusReason": reason,
            "DriftedStackResourceCount": 1,
        },
    )
    expect_drift_page(harness, [drifted("Topic", DisplayName=("alerts", "x"))])
    assert harness.run("drift", "--stack-name", STACK) == ExitCode.DRIFT_UNKNOWN == 12
    assert reason in harness.errors
    assert "DisplayName" in harness.output


def test_failed_detection_that_found_nothing_does_not_read_resource_drifts(harness: Harness) -> None:
    expect_detection(
        harness, {"DetectionStatus": "DETECTION_FAILED", "DetectionStatusReason": "Internal failure"}
    )
    assert harness.run("drift", "--stack-name", STACK) == ExitCode.DRIFT_UNKNOWN
    assert "DescribeStackResourceDrifts" not in harness.calls


def test_detection_that_outlasts_the_timeout_exits_12(harness: Harness) -> None:
    expect_detection(harness, IN_PROGRESS, IN_PROGRESS, IN_PROGRESS)
    code = harness.run("drift", "--stack-name", STACK, "--timeout", "3s", "--poll-interval", "2")
    assert code == ExitCode.DRIFT_UNKNOWN
    assert "did not finish in time" in harness.errors


def test_throttled_status_polls_slow_down_instead_of_failing(harness: Harness) -> None:
    harness.stub.add_response(
        "detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": STACK}
    )
    harness.stub.add_client_error("describe_stack_drift_detection_status", "Throttling", "Rate exceeded", 400)
    harness.stub.add_response(
        "describe_stack_drift_detection_status",
        {
            "StackId": STACK_ID,
            "StackDriftDetectionId": DETECTION,
            "Timestamp": T0,
            "DetectionStatus": "DETECTION_COMPLETE",
            "StackDriftStatus": "IN_SYNC",
        },
        {"StackDriftDetectionId": DETECTION},
    )
    expect_drift_page(harness, [])
    assert harness.run("drift", "--stack-name", STACK, "--max-attempts", "1") == ExitCode.SUCCESS


def test_a_missing_stack_is_bad_input(harness: Harness) -> None:
    harness.stub.add_client_error(
        "detect_stack_drift", "ValidationError", f"Stack with id {STACK} does not exist", 400
    )
    assert harness.run("drift", "--stack-name", STACK) == ExitCode.BAD_INPUT
    assert "does not exist" in harness.errors

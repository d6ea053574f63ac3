"""`manifest drift`: drift detection on every stack of the manifest, one row each, exit 11 when any drifted.

moto answers DetectStackDrift with HTTP 500, so each stack's CloudFormation client is a botocore Stubber with the
documented responses (expected parameters checked, nothing left unanswered)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.stub import Stubber

from deployer.arguments import build_parser
from deployer.clients import ClientFactory
from deployer.errors import ExitCode
from deployer.fleet.command import run_manifest_command
from tests.deploy._manifest import write_manifest

pytestmark = pytest.mark.deploy

MANIFEST = """
[defaults]
account = "123456789012"
preflight = false

[stacks.web-us]
stack_name = "web"
template = "network.json"
region = "us-east-1"

[stacks.web-eu]
stack_name = "web"
template = "network.json"
region = "eu-west-1"
"""
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _stack_id(region: str) -> str:
    return f"arn:aws:cloudformation:{region}:123456789012:stack/web/0000"


class DriftFactory(ClientFactory):
    """One stubbed CloudFormation client per stack; the stack in `drifted_region` has one modified property."""

    drifted_region: ClassVar[str] = "eu-west-1"
    # Its detection ends DETECTION_FAILED after finding the drift on the resources it could check.
    failed_region: ClassVar[str] = "nowhere"
    stubs: ClassVar[list[Stubber]] = []

    def cloudformation(self) -> Any:
        client = super().cloudformation()
        region = self.settings.region
        failed = region == self.failed_region
        drifted = region == self.drifted_region or failed
        stub = Stubber(client)
        stub.add_response(
            "detect_stack_drift", {"StackDriftDetectionId": f"d-{region}"}, {"StackName": "web"}
        )
        stub.add_response(
            "describe_stack_drift_detection_status",
            {
                "StackId": _stack_id(region),
                "StackDriftDetectionId": f"d-{region}",
                "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC",
                "DetectionStatus": "DETECTION_FAILED" if failed else "DETECTION_COMPLETE",
                "DriftedStackResourceCount": 1 if drifted else 0,
                "Timestamp": NOW,
                **({"DetectionStatusReason": "Failed to detect drift on resource [Cdn]"} if failed else {}),
            },
            {"StackDriftDetectionId": f"d-{region}"},
        )
        drifts = [
            {
                "StackId": _stack_id(region),
                "LogicalResourceId": "Topic",
                "ResourceType": "AWS::SNS::Topic",
                "StackResourceDriftStatus": "MODIFIED",
                "Timestamp": NOW,
                "PropertyDifferences": [
                    {
                        "PropertyPath": "/DisplayName",
                        "ExpectedValue": "net",
                        "ActualValue": "renamed by hand",
                        "DifferenceType": "NOT_EQUAL",
                    }
                ],
            }
        ]
        stub.add_response(
            "describe_stack_resource_drifts",
            {"StackResourceDrifts": drifts if drifted else []},
            {"StackName": "web", "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]},
        )
        stack = {
            "StackName": "web",
            "StackId": _stack_id(region),
            "CreationTime": NOW,
            "StackStatus": "UPDATE_COMPLETE",
        }
        stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "web"})
        stub.activate()
        self.stubs.append(stub)
        return client


def _run(tmp_path: Path, drifted_region: str, *extra: str, failed_region: str = "nowhere") -> tuple[int, str]:
    path = write_manifest(tmp_path, MANIFEST)
    argv = ["manifest", "drift", str(path), "--poll-interval", "0", "--max-poll-interval", "0", *extra]
    DriftFactory.drifted_region = drifted_region
    DriftFactory.failed_region = failed_region
    DriftFactory.stubs = []
    out = io.StringIO()
    code = run_manifest_command(
        build_parser().parse_args(argv), argv, out, io.StringIO(), make_factory=DriftFactory
    )
    assert len(DriftFactory.stubs) == 2
    for stub in DriftFactory.stubs:
        stub.assert_no_pending_responses()
    return code, out.getvalue()


def _rows(out: str) -> dict[str, str]:
    """The summary table's result column by stack (columns are separated by two or more spaces)."""
    lines = [line for line in out.splitlines() if line.startswith(("web-us ", "web-eu "))]
    cells = [re.split(r"\s{2,}", line) for line in lines]
    return {row[0]: row[3] for row in cells}


def test_one_drifted_stack_makes_the_run_exit_11_and_shows_its_property(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "eu-west-1")
    assert code == ExitCode.DRIFTED, out
    assert "renamed by hand" in out
    rows = _rows(out)
    assert rows == {"web-us": "in sync", "web-eu": "drifted"}


def test_every_stack_in_sync_exits_0(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "nowhere")
    assert code == ExitCode.SUCCESS, out
    assert _rows(out) == {"web-us": "in sync", "web-eu": "in sync"}


def test_a_stack_whose_detection_failed_does_not_stop_the_stacks_after_it(tmp_path: Path) -> None:
    # One stack at a time, the first one drifted but its detection ended DETECTION_FAILED: the second is still
    # checked (--on-failure stop is the default), and the run exits 12, drift unknown.
    code, out = _run(tmp_path, "nowhere", "--max-parallel", "1", failed_region="us-east-1")
    assert _rows(out) == {"web-us": "drift unknown", "web-eu": "in sync"}
    assert code == ExitCode.DRIFT_UNKNOWN, out
    assert "renamed by hand" in out and "Failed to detect drift on resource [Cdn]" in out


def test_any_drifted_stack_makes_the_run_exit_11_even_when_another_stacks_drift_is_unknown(
    tmp_path: Path,
) -> None:
    code, out = _run(tmp_path, "eu-west-1", "--max-parallel", "1", failed_region="us-east-1")
    assert _rows(out) == {"web-us": "drift unknown", "web-eu": "drifted"}
    assert code == ExitCode.DRIFTED, out

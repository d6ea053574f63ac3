"""`deploy.py drift` on the generated stack in the emulator, which detects drift for the stack's main resource
types (emulator/drift_gaps.py; moto itself answered HTTP 500 and deploy.py retried until it gave up)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Account

STACK = "tap-drift"
SUFFIX = "drift"
PARAMETERS = (
    f"EnvironmentSuffix={SUFFIX}",
    "VpcCidr=10.50.0.0/16",
    "NatGatewayMode=single",
    "ProjectName=integration",
)


@pytest.fixture
def deployed(account: Account) -> dict[str, str]:
    assert account.deploy_stack("deploy", STACK, PARAMETERS) == 0
    return account.resources(STACK)


def test_an_untouched_stack_is_in_sync(
    account: Account, deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert account.deploy("drift", "--stack-name", STACK) == 0
    assert f"Stack {STACK} is in sync with its template" in capsys.readouterr().out


def test_a_changed_retention_and_a_resized_group_are_drift_with_each_property_named(
    account: Account, deployed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account.client("logs").put_retention_policy(
        logGroupName=deployed["ApplicationLogGroup"], retentionInDays=1
    )
    account.client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=deployed["AutoScalingGroup"], MaxSize=9
    )
    report = tmp_path / "drift.md"
    capsys.readouterr()
    assert account.deploy("drift", "--stack-name", STACK, "--report-file", str(report)) == 11
    out = capsys.readouterr().out
    assert "MODIFIED  ApplicationLogGroup (AWS::Logs::LogGroup)" in out
    assert "MODIFIED  AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup)" in out
    text = report.read_text()
    assert "| `/RetentionInDays` | NOT_EQUAL | `90` | `1` |" in text
    assert "| `/MaxSize` | NOT_EQUAL | `5` | `9` |" in text
    assert "AccessLogGroup" not in text  # an untouched log group of the same type is in sync

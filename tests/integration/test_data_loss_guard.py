"""The generated stack on moto: the data-loss guard and the default stack policy, end to end."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.test_stack_policy import allows
from tests.integration.conftest import Account

STACK = "tap-guard"
PARAMETERS = (
    "EnvironmentSuffix=guard",
    "VpcCidr=10.30.0.0/16",
    "InstanceType=t3.small",
    "NatGatewayMode=single",
    "ProjectName=integration",
)
STATEFUL = ("StaticContentBucket", "LogBucket", "AccessLogGroup", "ApplicationLogGroup", "FlowLogGroup")


def _run(account: Account, command: str, *extra: str, parameters: tuple[str, ...] = PARAMETERS) -> int:
    return account.deploy_stack(command, STACK, parameters, *extra)


def _renameable(template: dict[str, Any], tmp_path: Path) -> str:
    """The generated stack with its target group named after the environment too. As generated, a new suffix
    needs a new stack and deploy.py refuses it before any change set (tests/integration/test_parameter_updates.py);
    with the target group replaced along with the load balancer it can be done in place, and what refuses it
    then is the data-loss guard, tested here."""
    doc = copy.deepcopy(template)
    doc["Resources"]["TargetGroup"]["Properties"]["Name"] = {"Fn::Sub": "tap-${EnvironmentSuffix}-tg"}
    path = tmp_path / "renameable.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _run_template(
    account: Account, template: str, command: str, parameters: tuple[str, ...], *extra: str
) -> int:
    return account.deploy(
        command,
        "--stack-name",
        STACK,
        "--template-file",
        template,
        "--s3-bucket",
        account.template_bucket,
        "--capabilities",
        "CAPABILITY_IAM",
        *extra,
        "--parameter-overrides",
        *parameters,
    )


def test_the_generated_stack_gets_a_policy_protecting_its_buckets_key_and_log_groups(
    account: Account,
) -> None:
    assert _run(account, "deploy") == 0
    body = account.client("cloudformation").get_stack_policy(StackName=STACK)["StackPolicyBody"]
    policy = json.loads(body)
    for logical_id in (*STATEFUL, "KmsKey"):
        assert not allows(policy, "Update:Replace", logical_id), logical_id
        assert allows(policy, "Update:Modify", logical_id), logical_id
    assert allows(policy, "Update:Replace", "LaunchTemplate")


def test_renaming_the_environment_is_refused_for_every_named_bucket_and_log_group(
    account: Account, template: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    renameable = _renameable(template, tmp_path)
    assert _run_template(account, renameable, "deploy", PARAMETERS) == 0
    renamed = tuple(
        p if not p.startswith("EnvironmentSuffix=") else "EnvironmentSuffix=other" for p in PARAMETERS
    )
    report = tmp_path / "report.md"
    capsys.readouterr()
    code = _run_template(account, renameable, "plan", renamed, "--report-file", str(report))
    err = capsys.readouterr().err
    assert code == 10, err
    text = report.read_text()
    for logical_id in STATEFUL:
        assert f"--allow-replacement {logical_id}" in err
        assert f"| `{logical_id}` |" in text
    assert (
        "KmsKey" not in err
    )  # a KMS key has no create-only property: renaming its alias does not replace it
    assert account.stack(STACK)["StackStatus"] == "CREATE_COMPLETE"

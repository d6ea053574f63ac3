"""deploy.py stackset: moto for the round trips it models, Stubber for service-managed targets and retries."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

import deploy
from deployer import cli
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from deployer.fleet.stacksets import Targets, failed_instances, missing_instances
from emulator.server import MotoServer
from tests.deploy.conftest import FakeClock, stubbed_client

TEMPLATE = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
    "Resources": {
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": {"Fn::Sub": "alerts-${Env}-${AWS::Region}"}},
        }
    },
}
FAST = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "30s"]
A, B = "111111111111", "222222222222"


def write(tmp_path: Path, doc: dict[str, Any] = TEMPLATE) -> str:
    path = tmp_path / "set.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def run(moto: MotoServer, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = deploy.main(
        ["stackset", *args, "--stack-set-name", "alerts", "--endpoint-url", moto.endpoint, *FAST]
    )
    out, err = capsys.readouterr()
    return code, out, err


def cfn(moto: MotoServer) -> Any:
    return ClientFactory(ClientSettings(endpoint_url=moto.endpoint)).cloudformation()


def test_missing_instances_are_the_account_region_pairs_not_yet_deployed() -> None:
    targets = Targets(("us-east-1", "eu-west-1"), (A, B))
    have = [
        {"Account": A, "Region": "us-east-1"},
        {"Account": B, "Region": "us-east-1"},
        {"Account": A, "Region": "eu-west-1"},
    ]
    assert missing_instances(targets, have) == {"eu-west-1": [B]}


def test_failed_instances_are_inoperable_or_failed_in_their_last_operation() -> None:
    instances = [
        {"Account": A, "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}},
        {"Account": B, "Status": "OUTDATED", "StackInstanceStatus": {"DetailedStatus": "FAILED"}},
        {"Account": "333333333333", "Status": "INOPERABLE"},
        {
            "Account": "444444444444",
            "Status": "OUTDATED",
            "StackInstanceStatus": {"DetailedStatus": "PENDING"},
        },
    ]
    assert [i["Account"] for i in failed_instances(instances)] == [B, "333333333333"]


def test_self_managed_roll_out_with_overrides_then_status_plan_and_delete(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path)
    targets = ["--accounts", A, B, "--deployment-regions", "us-east-1", "eu-west-1"]
    prefs = [
        "--region-concurrency",
        "parallel",
        "--max-concurrent-count",
        "2",
        "--failure-tolerance-count",
        "0",
    ]
    overrides = ["--override", "eu-west-1:Env=eu", "--override", f"{B}:Env=bee"]
    args = ["--template-file", template, "--parameter-overrides", "Env=prod", *targets, *prefs, *overrides]

    code, out, err = run(moto, "plan", *args, capsys=capsys)
    assert code == ExitCode.CHANGES_PRESENT, out + err
    assert "create stack set alerts (SELF_MANAGED)" in out
    assert cfn(moto).list_stack_sets()["Summaries"] == []

    code, out, err = run(moto, "deploy", *args, capsys=capsys)
    assert code == ExitCode.SUCCESS, out + err
    client = cfn(moto)
    instances = client.list_stack_instances(StackSetName="alerts")["Summaries"]
    assert sorted((i["Account"], i["Region"]) for i in instances) == [
        (A, "eu-west-1"),
        (A, "us-east-1"),
        (B, "eu-west-1"),
        (B, "us-east-1"),
    ]

    def override(account: str, region: str) -> dict[str, str]:
        found = client.describe_stack_instance(
            StackSetName="alerts", StackInstanceAccount=account, StackInstanceRegion=region
        )
        return {
            p["ParameterKey"]: p["ParameterValue"]
            for p in found["StackInstance"].get("ParameterOverrides", [])
        }

    assert override(A, "eu-west-1") == {"Env": "eu"}  # the region's override
    assert override(B, "us-east-1") == {"Env": "bee"}  # the account's, applied after the region's
    assert override(A, "us-east-1") == {}
    stack_set = client.describe_stack_set(StackSetName="alerts")["StackSet"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["Parameters"]} == {"Env": "prod"}

    code, out, _ = run(moto, "status", capsys=capsys)
    assert code == ExitCode.SUCCESS
    assert sum(line.startswith((A, B)) and "CURRENT" in line for line in out.splitlines()) == 4

    code, out, _ = run(
        moto,
        "plan",
        "--template-file",
        template,
        "--parameter-overrides",
        "Env=prod",
        *targets,
        capsys=capsys,
    )
    assert code == ExitCode.SUCCESS, out  # nothing to change once deployed

    code, out, _ = run(moto, "delete", capsys=capsys)
    assert code == ExitCode.BAD_INPUT  # --yes is required
    code, out, _ = run(moto, "delete", "--yes", capsys=capsys)
    assert code == ExitCode.SUCCESS, out
    assert "4 instance(s) removed" in out
    assert [s["Status"] for s in cfn(moto).list_stack_sets()["Summaries"]] == ["DELETED"]


def test_adding_a_region_creates_only_the_missing_instances(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path)
    base = ["--template-file", template, "--accounts", A]
    assert run(moto, "deploy", *base, "--deployment-regions", "us-east-1", capsys=capsys)[0] == 0
    code, out, _ = run(moto, "deploy", *base, "--deployment-regions", "us-east-1", "eu-west-1", capsys=capsys)
    assert code == ExitCode.SUCCESS, out
    assert f"add instances in eu-west-1 for {A}" in out and "us-east-1 for" not in out
    assert len(cfn(moto).list_stack_instances(StackSetName="alerts")["Summaries"]) == 2


def stackset_argv(*argv: str) -> list[str]:
    return ["stackset", *argv, "--stack-set-name", "alerts", *FAST]


def run_cli(argv: list[str], clients: Any, out: io.StringIO, err: io.StringIO, clock: Any = None) -> int:
    """deploy.py's own entry point, whose one error path turns what the stack set code raises into its exit code."""
    clock = clock or FakeClock()
    env = cli.Environment(clients=clients, sleep=clock.sleep, clock=clock.time, stdout=out, stderr=err)
    return cli.main(argv, env)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--accounts", A, "--organizational-units", "ou-ab12-cdef3456"], "either --accounts"),
        (["--deployment-regions", "eu-west-9", "--accounts", A], "unknown region eu-west-9"),
        (["--accounts", "1234"], "not a 12-digit account id"),
        (["--accounts", A, "--override", "prod:Env=x"], "is not TARGET:Key=Value"),
        (["--organizational-units", "ou-ab12-cdef3456", "--override", f"{A}:Env=x"], "need --accounts"),
        (["--accounts", A, "--parameter-overrides", "Colour=red"], "Colour"),
        (["--accounts", A, "--region-order", "eu-west-1"], "--region-order"),
    ],
)
def test_bad_input_is_rejected_before_any_aws_call(tmp_path: Path, argv: list[str], words: str) -> None:
    argv = stackset_argv(
        "deploy", "--template-file", write(tmp_path), "--deployment-regions", "us-east-1", *argv
    )
    err = io.StringIO()

    def no_aws(settings: ClientSettings) -> Any:
        raise AssertionError("no client may be built for bad input")

    assert run_cli(argv, no_aws, io.StringIO(), err) == ExitCode.BAD_INPUT
    assert words in err.getvalue() and err.getvalue().count("\n") == 1


class StubFactory:
    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, settings: ClientSettings) -> StubFactory:
        return self

    def cloudformation(self) -> Any:
        return self.client


def test_service_managed_targets_ous_and_a_failed_instance_is_retried_once(tmp_path: Path) -> None:
    client = stubbed_client("cloudformation")
    stub = Stubber(client)
    ou = "ou-ab12-cdef3456"
    stub.add_client_error(
        "describe_stack_set", "StackSetNotFoundException", "not found", 404, {"StackSetName": "alerts"}
    )
    stub.add_response(
        "create_stack_set",
        {"StackSetId": "alerts:1"},
        {
            "StackSetName": "alerts",
            "TemplateBody": ANY,
            "Parameters": [],
            "Capabilities": [],
            "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        },
    )
    prefs = {
        "RegionOrder": ["eu-west-1", "us-east-1"],
        "RegionConcurrencyType": "SEQUENTIAL",
        "FailureTolerancePercentage": 10,
    }
    stub.add_response(
        "create_stack_instances",
        {"OperationId": "op-1"},
        {
            "StackSetName": "alerts",
            "OperationPreferences": prefs,
            "Regions": ["us-east-1", "eu-west-1"],
            "DeploymentTargets": {"OrganizationalUnitIds": [ou]},
        },
    )
    op = {"StackSetName": "alerts", "OperationId": "op-1"}
    stub.add_response(
        "describe_stack_set_operation",
        {"StackSetOperation": {"OperationId": "op-1", "Status": "RUNNING"}},
        op,
    )
    stub.add_response(
        "describe_stack_set_operation", {"StackSetOperation": {"OperationId": "op-1", "Status": "FAILED"}}, op
    )
    reason = "Account 333333333333 should have 'AWSCloudFormationStackSetExecutionRole' role"
    stub.add_response(
        "list_stack_set_operation_results",
        {
            "Summaries": [
                {"Account": "333333333333", "Region": "eu-west-1", "Status": "FAILED", "StatusReason": reason}
            ]
        },
        op,
    )
    failed = {
        "Account": "333333333333",
        "Region": "eu-west-1",
        "Status": "OUTDATED",
        "StatusReason": reason,
        "StackInstanceStatus": {"DetailedStatus": "FAILED"},
        "StackSetId": "alerts:1",
    }
    stub.add_response("list_stack_instances", {"Summaries": [failed]}, {"StackSetName": "alerts"})
    stub.add_response(
        "update_stack_instances",
        {"OperationId": "op-2"},
        {
            "StackSetName": "alerts",
            "Accounts": ["333333333333"],
            "Regions": ["eu-west-1"],
            "OperationPreferences": prefs,
        },
    )
    op2 = {"StackSetName": "alerts", "OperationId": "op-2"}
    stub.add_response(
        "describe_stack_set_operation",
        {"StackSetOperation": {"OperationId": "op-2", "Status": "FAILED"}},
        op2,
    )
    stub.add_response("list_stack_set_operation_results", {"Summaries": []}, op2)
    stub.add_response("list_stack_instances", {"Summaries": [failed]}, {"StackSetName": "alerts"})
    argv = stackset_argv(
        "deploy",
        "--template-file",
        write(tmp_path),
        "--organizational-units",
        ou,
        "--deployment-regions",
        "us-east-1",
        "eu-west-1",
        "--region-order",
        "eu-west-1",
        "us-east-1",
        "--region-concurrency",
        "sequential",
        "--failure-tolerance-percentage",
        "10",
        "--retry-failed",
    )
    out, err, clock = io.StringIO(), io.StringIO(), FakeClock()
    with stub:
        code = run_cli(argv, StubFactory(client), out, err, clock)
        stub.assert_no_pending_responses()
    assert code == ExitCode.STACK_FAILED, err.getvalue()
    assert f"333333333333 eu-west-1: FAILED {reason}" in out.getvalue()
    assert "Retrying 1 failed instance(s)" in out.getvalue()
    assert "run again with --retry-failed" in err.getvalue()

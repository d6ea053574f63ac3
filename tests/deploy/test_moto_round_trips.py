"""Round trips through the real CLI against moto's server on 127.0.0.1 (fresh state per test)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import deploy
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from deployer.upload import object_key
from emulator.gaps import (
    newest_stack_named,
    template_body_without_changes,
)
from emulator.server import MotoServer
from tests.deploy.conftest import SMALL_TEMPLATE

FAST = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "30s"]


def write(tmp_path: Path, doc: dict[str, Any], name: str = "t.json", *, reformatted: bool = False) -> str:
    path = tmp_path / name
    path.write_text(template_body_without_changes(doc, reformatted=reformatted), encoding="utf-8")
    return str(path)


def run(moto: MotoServer, *args: str, endpoint: str | None = None) -> int:
    # --yes: `pytest -s` from a terminal must not stop at deploy's "execute?" question.
    yes = ["--yes"] if args[0] in {"deploy", "delete"} else []
    return deploy.main([*args, "--endpoint-url", endpoint or moto.endpoint, *FAST, *yes])


def cfn(moto: MotoServer) -> Any:
    return ClientFactory(ClientSettings(endpoint_url=moto.endpoint)).cloudformation()


def stack_of(moto: MotoServer, name: str = "rt") -> dict[str, Any]:
    return cfn(moto).describe_stacks(StackName=name)["Stacks"][0]


def parameters_of(moto: MotoServer) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack_of(moto).get("Parameters", [])}


def test_create_then_update_then_delete(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path, SMALL_TEMPLATE)
    outputs = tmp_path / "outputs.json"
    assert (
        run(moto, "deploy", "--stack-name", "rt", "--template-file", template, "--outputs-file", str(outputs))
        == 0
    )
    assert stack_of(moto)["StackStatus"] == "CREATE_COMPLETE"
    topic_arn = cfn(moto).describe_stack_resource(StackName="rt", LogicalResourceId="Topic")
    assert json.loads(outputs.read_text()) == {
        "TopicArn": topic_arn["StackResourceDetail"]["PhysicalResourceId"]
    }

    code = run(
        moto,
        "deploy",
        "--stack-name",
        "rt",
        "--template-file",
        template,
        "--parameter-overrides",
        "InstanceType=t3.small",
    )
    assert code == ExitCode.SUCCESS
    assert stack_of(moto)["StackStatus"] == "UPDATE_COMPLETE"
    assert parameters_of(moto)["InstanceType"] == "t3.small"
    assert parameters_of(moto)["EnvironmentSuffix"] == "dev"  # kept through UsePreviousValue

    assert run(moto, "delete", "--stack-name", "rt", "--yes") == ExitCode.SUCCESS
    assert cfn(moto).describe_stacks()["Stacks"] == []
    assert "UPDATE_COMPLETE" in capsys.readouterr().out


def test_template_change_adds_the_new_resource(moto: MotoServer, tmp_path: Path) -> None:
    assert run(moto, "deploy", "--stack-name", "rt", "--template-file", write(tmp_path, SMALL_TEMPLATE)) == 0
    bigger = json.loads(json.dumps(SMALL_TEMPLATE))
    bigger["Resources"]["Second"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "second"}}
    assert (
        run(moto, "deploy", "--stack-name", "rt", "--template-file", write(tmp_path, bigger, "b.json")) == 0
    )
    resources = cfn(moto).describe_stack_resources(StackName="rt")["StackResources"]
    assert "Second" in {r["LogicalResourceId"] for r in resources}


@pytest.mark.parametrize("reformatted", [False, True], ids=["no-updates-error", "failed-change-set"])
def test_redeploying_the_same_template_is_a_no_op_in_both_wordings(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], reformatted: bool
) -> None:
    first = write(tmp_path, SMALL_TEMPLATE)
    assert run(moto, "deploy", "--stack-name", "rt", "--template-file", first) == 0
    again = write(tmp_path, SMALL_TEMPLATE, "again.json", reformatted=reformatted)
    capsys.readouterr()
    same = ["--stack-name", "rt", "--template-file", again]
    assert run(moto, "deploy", *same) == ExitCode.SUCCESS
    assert "No changes" in capsys.readouterr().out
    assert stack_of(moto)["StackStatus"] == "CREATE_COMPLETE"  # nothing executed
    summaries = cfn(moto).list_change_sets(StackName="rt")["Summaries"]
    assert all(s["Status"] != "FAILED" for s in summaries)  # the empty change set was deleted
    code = run(moto, "deploy", *same, "--fail-on-empty-changeset")
    assert code == ExitCode.EMPTY_CHANGE_SET


def test_review_mode_then_execute_by_name(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = write(tmp_path, SMALL_TEMPLATE)
    assert run(moto, "plan", "--stack-name", "rt", "--template-file", template) == ExitCode.CHANGES_PRESENT
    assert stack_of(moto)["StackStatus"] == "REVIEW_IN_PROGRESS"
    name = re.search(r"--change-set-name (\S+)", capsys.readouterr().out)
    assert name is not None
    assert run(moto, "execute", "--stack-name", "rt", "--change-set-name", name.group(1)) == ExitCode.SUCCESS
    assert stack_of(moto)["StackStatus"] == "CREATE_COMPLETE"

    plan = tmp_path / "plan.json"
    code = run(
        moto,
        "deploy",
        "--stack-name",
        "rt",
        "--template-file",
        template,
        "--no-execute-changeset",
        "--parameter-overrides",
        "MinSize=3",
        "--changeset-file",
        str(plan),
    )
    assert code == ExitCode.CHANGES_PRESENT
    assert parameters_of(moto)["MinSize"] == "2"  # reviewed, not executed
    change_set = json.loads(plan.read_text())["ChangeSetName"]
    assert run(moto, "execute", "--stack-name", "rt", "--change-set-name", change_set) == ExitCode.SUCCESS
    assert parameters_of(moto)["MinSize"] == "3"


def test_unexecuted_review_stack_is_created_by_the_next_deploy(moto: MotoServer, tmp_path: Path) -> None:
    template = write(tmp_path, SMALL_TEMPLATE)
    assert run(moto, "plan", "--stack-name", "rt", "--template-file", template) == ExitCode.CHANGES_PRESENT
    assert run(moto, "deploy", "--stack-name", "rt", "--template-file", template) == ExitCode.SUCCESS
    assert newest_stack_named(cfn(moto), "rt")["StackStatus"] == "CREATE_COMPLETE"


def test_template_over_the_inline_limit_goes_through_s3(moto: MotoServer, tmp_path: Path) -> None:
    doc = json.loads(json.dumps(SMALL_TEMPLATE))
    doc["Metadata"] = {"Padding": "x" * 60_000}
    body = template_body_without_changes(doc, reformatted=False)
    assert len(body.encode("utf-8")) > 51_200
    factory = ClientFactory(ClientSettings(endpoint_url=moto.endpoint))
    factory.s3().create_bucket(Bucket="templates")
    code = run(
        moto,
        "deploy",
        "--stack-name",
        "rt",
        "--template-file",
        write(tmp_path, doc),
        "--s3-bucket",
        "templates",
        "--s3-prefix",
        "cfn",
    )
    assert code == ExitCode.SUCCESS
    stored = factory.s3().get_object(Bucket="templates", Key=object_key(body, "cfn"))["Body"].read()
    assert stored == body.encode("utf-8")
    assert stack_of(moto)["StackStatus"] == "CREATE_COMPLETE"


def test_status_and_delete_of_missing_stack(moto: MotoServer) -> None:
    assert run(moto, "status", "--stack-name", "nothing-here") == ExitCode.BAD_INPUT
    assert run(moto, "delete", "--stack-name", "nothing-here", "--yes") == ExitCode.SUCCESS

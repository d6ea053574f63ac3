"""The data-loss guard on moto's server (127.0.0.1), where the emulator can create the change set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import deploy
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from emulator.server import MotoServer
from tests.deploy.test_guard import BUCKET_TEMPLATE
from tests.deploy.test_stack_policy import allows

FAST = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "30s", "--yes"]


def _moto_deploy(moto: MotoServer, template: Path, *extra: str) -> int:
    return deploy.main(
        [
            "deploy",
            "--stack-name",
            "guarded",
            "--template-file",
            str(template),
            *extra,
            "--endpoint-url",
            moto.endpoint,
            *FAST,
        ]
    )


def _cfn(moto: MotoServer) -> Any:
    return ClientFactory(ClientSettings(endpoint_url=moto.endpoint)).cloudformation()


def test_a_parameter_that_renames_the_bucket_is_refused_by_the_change_set_and_the_offline_prediction(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "bucket.json"
    template.write_text(json.dumps(BUCKET_TEMPLATE), encoding="utf-8")
    assert _moto_deploy(moto, template) == ExitCode.SUCCESS
    capsys.readouterr()
    report = tmp_path / "report.md"
    code = _moto_deploy(
        moto, template, "--parameter-overrides", "EnvironmentSuffix=prod", "--report-file", str(report)
    )
    out, err = capsys.readouterr()
    assert code == ExitCode.DATA_LOSS_REFUSED, err
    # The emulator lists a parameter-only replacement as AWS does (emulator/changeset_gaps.py); the offline
    # prediction, which also covers endpoints that list nothing, agrees.
    assert "Modify   StaticContentBucket" in out
    assert "BucketName" in err and "found by change set and offline prediction" in err
    row = "| `StaticContentBucket` | AWS::S3::Bucket | replacement | BucketName | change set, offline prediction |"
    assert row in report.read_text()
    cfn = _cfn(moto)
    assert cfn.describe_stacks(StackName="guarded")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    kept = cfn.list_change_sets(StackName="guarded")["Summaries"]
    available = [s for s in kept if s["ExecutionStatus"] == "AVAILABLE"]
    assert len(available) == 1, "the refused change set is kept for review"
    code = _moto_deploy(
        moto,
        template,
        "--parameter-overrides",
        "EnvironmentSuffix=prod",
        "--allow-replacement",
        "StaticContentBucket",
    )
    assert code == ExitCode.SUCCESS
    policy = json.loads(cfn.get_stack_policy(StackName="guarded")["StackPolicyBody"])
    assert not allows(policy, "Update:Replace", "StaticContentBucket"), "the opening outlived the update"


def test_removing_a_log_group_is_refused_until_allowed(moto: MotoServer, tmp_path: Path) -> None:
    with_logs = {
        "Parameters": BUCKET_TEMPLATE["Parameters"],
        "Resources": {
            "Topic": BUCKET_TEMPLATE["Resources"]["Topic"],
            "AppLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        },
    }
    template = tmp_path / "logs.json"
    template.write_text(json.dumps(with_logs), encoding="utf-8")
    assert _moto_deploy(moto, template) == ExitCode.SUCCESS
    without = {**with_logs, "Resources": {"Topic": with_logs["Resources"]["Topic"]}}
    template.write_text(json.dumps(without), encoding="utf-8")
    assert _moto_deploy(moto, template) == ExitCode.DATA_LOSS_REFUSED
    resources = _cfn(moto).describe_stack_resources(StackName="guarded")["StackResources"]
    assert "AppLogGroup" in {r["LogicalResourceId"] for r in resources}
    assert _moto_deploy(moto, template, "--allow-removal", "AppLogGroup") == ExitCode.SUCCESS
    resources = _cfn(moto).describe_stack_resources(StackName="guarded")["StackResources"]
    assert "AppLogGroup" not in {r["LogicalResourceId"] for r in resources}


def test_bringing_a_kms_key_is_refused_offline_until_the_removal_of_the_stacks_key_is_allowed(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The generated stack's pattern: KmsKey exists only while KmsKeyArn is empty (Condition CreateKmsKey).
    keyed: dict[str, Any] = {
        "Parameters": {"KmsKeyArn": {"Type": "String", "Default": ""}},
        "Conditions": {"CreateKmsKey": {"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}},
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "KmsKey": {
                "Type": "AWS::KMS::Key",
                "Condition": "CreateKmsKey",
                "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}},
            },
        },
    }
    template = tmp_path / "keyed.json"
    template.write_text(json.dumps(keyed), encoding="utf-8")
    assert _moto_deploy(moto, template) == ExitCode.SUCCESS
    capsys.readouterr()
    arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    code = _moto_deploy(moto, template, "--parameter-overrides", f"KmsKeyArn={arn}")
    err = capsys.readouterr().err
    assert code == ExitCode.DATA_LOSS_REFUSED, err
    assert "removal of KmsKey" in err and "Condition CreateKmsKey is false" in err
    assert "--allow-removal KmsKey" in err
    resources = _cfn(moto).describe_stack_resources(StackName="guarded")["StackResources"]
    assert "KmsKey" in {r["LogicalResourceId"] for r in resources}
    code = _moto_deploy(
        moto, template, "--parameter-overrides", f"KmsKeyArn={arn}", "--allow-removal", "KmsKey"
    )
    assert code == ExitCode.SUCCESS, capsys.readouterr().err
    resources = _cfn(moto).describe_stack_resources(StackName="guarded")["StackResources"]
    # moto 5.2 still lists a resource whose Condition turned false, as an entry without LogicalResourceId.
    assert "KmsKey" not in {r.get("LogicalResourceId") for r in resources}

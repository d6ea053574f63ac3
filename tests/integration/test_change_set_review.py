"""The generated stack on the emulator: what a reviewed change set shows, and what `execute` refuses afterwards.

These rely on the emulator answering as AWS does where moto did not: GetTemplate of a change set returns the change
set's template, and change sets list Conditions and parameter-only changes (emulator/api_gaps.py,
emulator/changeset_gaps.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import TEMPLATE, Account

STACK = "tap-review"
PARAMETERS = (
    "EnvironmentSuffix=review",
    "VpcCidr=10.40.0.0/16",
    "InstanceType=t3.small",
    "NatGatewayMode=single",
    "ProjectName=integration",
)
STATIC_BUCKET_PREFIX = "tap-static-"


def _with(name: str, value: str) -> tuple[str, ...]:
    return tuple(p if not p.startswith(f"{name}=") else f"{name}={value}" for p in PARAMETERS)


def _plan(account: Account, template: Path, parameters: tuple[str, ...], *extra: str) -> int:
    return account.deploy(
        "plan",
        "--stack-name",
        STACK,
        "--template-file",
        str(template),
        "--s3-bucket",
        account.template_bucket,
        "--capabilities",
        "CAPABILITY_IAM",
        *extra,
        "--parameter-overrides",
        *parameters,
    )


def _renamed_static_bucket(tmp_path: Path) -> Path:
    """The generated template with the static bucket's name changed in the template itself, not by a parameter."""
    doc = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    name = doc["Resources"]["StaticContentBucket"]["Properties"]["BucketName"]
    assert STATIC_BUCKET_PREFIX in name["Fn::Sub"]
    name["Fn::Sub"] = name["Fn::Sub"].replace(STATIC_BUCKET_PREFIX, "tap-content-")
    edited = tmp_path / "renamed-bucket.json"
    edited.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return edited


@pytest.fixture
def deployed(account: Account) -> dict[str, str]:
    assert account.deploy_stack("deploy", STACK, PARAMETERS) == 0
    return account.resources(STACK)


def test_a_planned_bucket_replacement_is_refused_by_execute_too(
    account: Account,
    deployed: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # plan reviews it (and refuses), execute is then run on the kept change set and must refuse on its own. A
    # template edit, not a parameter: the one parameter that renames the bucket (EnvironmentSuffix) is refused before
    # any change set (tests/deploy/test_identity.py).
    template, parameters = _renamed_static_bucket(tmp_path), PARAMETERS
    plan_file = tmp_path / "plan.json"
    code = _plan(account, template, parameters, "--changeset-file", str(plan_file))
    assert code == 10, capsys.readouterr().err
    name = json.loads(plan_file.read_text())["ChangeSetName"]
    capsys.readouterr()
    code = account.deploy("execute", "--stack-name", STACK, "--change-set-name", name)
    out, err = capsys.readouterr()
    assert code == 10, err
    # Both witnesses: the change set's Replacement, and the prediction from the change set's own template.
    assert (
        "DANGER replacement of StaticContentBucket (AWS::S3::Bucket), forced by BucketName; "
        "found by change set and offline prediction: refused unless --allow-replacement StaticContentBucket"
    ) in out
    assert "--allow-replacement StaticContentBucket" in err
    assert account.stack(STACK)["StackStatus"] == "CREATE_COMPLETE"
    assert account.resources(STACK)["StaticContentBucket"] == deployed["StaticContentBucket"]


def _brought_key(account: Account) -> str:
    """A key the operations team made outside the stack, to pass as KmsKeyArn."""
    return str(
        account.client("kms").create_key(Description="brought by the operations team")["KeyMetadata"]["Arn"]
    )


def test_bringing_a_key_removes_the_stack_key_and_is_refused(
    account: Account, deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    key_arn = _brought_key(account)
    capsys.readouterr()
    # Preflight rightly rejects the emulator's default key policy (tests/deploy/test_preflight_kms.py).
    code = account.deploy_stack("deploy", STACK, (*PARAMETERS, f"KmsKeyArn={key_arn}"), "--skip-preflight")
    err = capsys.readouterr().err
    assert code == 10, err
    assert "removal of KmsKey" in err and "--allow-removal KmsKey" in err
    assert account.resources(STACK)["KmsKey"] == deployed["KmsKey"]


def test_the_offline_prediction_also_names_a_removal_by_condition(
    account: Account, deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    key_arn = _brought_key(account)
    capsys.readouterr()
    code = account.deploy_stack("plan", STACK, (*PARAMETERS, f"KmsKeyArn={key_arn}"), "--skip-preflight")
    out, err = capsys.readouterr()
    assert code == 10, err
    (danger,) = [line for line in out.splitlines() if "DANGER removal of KmsKey " in line]
    assert danger.endswith(
        "found by change set and offline prediction: refused unless --allow-removal KmsKey"
    )


def test_the_report_of_a_parameter_only_change_lists_the_modified_resources(
    account: Account, deployed: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "report.md"
    parameters = (*_with("InstanceType", "t3.medium"), "LogRetentionDays=30")
    assert account.deploy_stack("plan", STACK, parameters, "--report-file", str(report)) == 8
    text = report.read_text()
    assert "**0 to add, 4 to modify, 0 to remove, 0 replaced, 0 dangerous**" in text
    for logical_id, rtype in (
        ("LaunchTemplate", "AWS::EC2::LaunchTemplate"),
        ("AccessLogGroup", "AWS::Logs::LogGroup"),
        ("ApplicationLogGroup", "AWS::Logs::LogGroup"),
        ("FlowLogGroup", "AWS::Logs::LogGroup"),
    ):
        assert f"| Modify | `{logical_id}` | {rtype} | False | Properties |" in text, logical_id
    assert "| `RetentionInDays` | Never | ParameterReference |" in text
    assert "| `LaunchTemplateData` | Never | ParameterReference |" in text

"""Bad inputs: each kind exits 2 with a clear message, and no call that changes anything is ever made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deployer.errors import ExitCode
from tests.deploy.conftest import SMALL_TEMPLATE, STACK, Harness

OUTPUT = Path(__file__).resolve().parents[2] / "output"


def assert_rejected(h: Harness, code: int, *message_parts: str) -> None:
    assert code == ExitCode.BAD_INPUT
    assert h.mutating_calls == []
    lines = h.errors.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), h.errors  # one line: the problem and the fix
    for part in message_parts:
        assert part in h.errors, h.errors


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("Nope=1", "unknown parameter(s) Nope"),
        ("EnvironmentSuffix=Bad_Suffix", "does not match"),
        ("EnvironmentSuffix=x", "is shorter than MinLength 2"),
        ("EnvironmentSuffix=" + "a" * 21, "is longer than MaxLength 20"),
        ("InstanceType=m5.24xlarge", "is not one of"),
        ("MinSize=0", "is less than MinValue 1"),
        ("MinSize=9", "is greater than MaxValue 5"),
        ("MinSize=two", "is not a number"),
    ],
)
def test_parameter_value_violating_the_template_is_rejected_before_any_aws_call(
    harness: Harness, override: str, message: str
) -> None:
    code = harness.run(*harness.deploy_args("--parameter-overrides", override))
    assert_rejected(harness, code, message)
    assert harness.calls == []  # rejected even without credentials or network


def test_constraint_description_is_included_in_the_message(harness: Harness) -> None:
    code = harness.run(*harness.deploy_args("--parameter-overrides", "EnvironmentSuffix=A-"))
    assert_rejected(harness, code, "lower-case letters, digits and single hyphens")


def test_required_parameter_missing_on_create_is_rejected(harness: Harness) -> None:
    doc = json.loads(json.dumps(SMALL_TEMPLATE))
    del doc["Parameters"]["EnvironmentSuffix"]["Default"]
    harness.expect_stack(None)
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", harness.template(doc))
    assert_rejected(harness, code, "EnvironmentSuffix: required")


def test_unparseable_template_is_rejected_without_any_aws_call(harness: Harness) -> None:
    path = harness.tmp / "broken.json"
    path.write_text('{"Resources": {')
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", str(path))
    assert_rejected(harness, code, "not valid JSON", "line 1 column", "hint: fix the syntax")
    assert harness.calls == []


def test_unparseable_yaml_template_is_rejected_without_any_aws_call(harness: Harness) -> None:
    path = harness.tmp / "broken.yaml"
    path.write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n   Properties: [\n")
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", str(path))
    assert_rejected(harness, code, "neither valid JSON nor valid YAML", "hint: fix the syntax")
    assert harness.calls == []


def test_bad_parameter_on_update_is_rejected_before_the_stack_is_even_read(harness: Harness) -> None:
    # Nothing is queued: DescribeStacks, or cleanup (ListChangeSets / DeleteChangeSet), would be an unexpected call.
    code = harness.run(*harness.deploy_args("--parameter-overrides", "MinSize=99"))
    assert_rejected(harness, code, "is greater than MaxValue 5", "--parameter-overrides")
    assert harness.calls == []


def test_parameter_only_valid_for_an_update_is_checked_once_the_stack_is_read(harness: Harness) -> None:
    # Whether a parameter may keep its previous value depends on the deployed stack: that check follows the read.
    doc = json.loads(json.dumps(SMALL_TEMPLATE))
    del doc["Parameters"]["EnvironmentSuffix"]["Default"]
    harness.expect_stack("UPDATE_COMPLETE", Parameters=[{"ParameterKey": "MinSize", "ParameterValue": "2"}])
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", harness.template(doc))
    assert_rejected(harness, code, "EnvironmentSuffix: required")
    assert harness.calls == ["DescribeStacks"]


def test_template_without_resources_is_rejected(harness: Harness) -> None:
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", harness.template({"Outputs": {}}))
    assert_rejected(harness, code, "no Resources section")


def test_missing_template_file_is_rejected(harness: Harness) -> None:
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", str(harness.tmp / "nope.json"))
    assert_rejected(harness, code, "cannot read template")


@pytest.mark.parametrize(
    "document",
    [
        {"Parameters": [{"ParameterKey": "A"}]},
        {"ParameterKey": "A", "ParameterValue": {"nested": True}},
        [{"Key": "A", "Value": "1"}],
        "just a string",
        {"Parameters": {"A": "1"}, "Extra": 1},
        {"Parameters": {"A": "1"}, "Tags": ["Team=web"]},
    ],
)
def test_parameters_file_in_no_known_format_is_rejected(harness: Harness, document: object) -> None:
    path = harness.tmp / "params.json"
    path.write_text(json.dumps(document))
    code = harness.run(*harness.deploy_args("--parameters-file", str(path)))
    assert_rejected(harness, code, "parameters file", "ParameterKey")  # the hint spells out the formats
    assert harness.calls == []


def test_parameters_file_that_is_not_json_is_rejected(harness: Harness) -> None:
    path = harness.tmp / "params.json"
    path.write_text("InstanceType=t3.small\n")
    code = harness.run(*harness.deploy_args("--parameters-file", str(path)))
    assert_rejected(harness, code, "not valid JSON")
    assert harness.calls == []


def test_missing_iam_capability_is_reported_with_the_resources_that_need_it(harness: Harness) -> None:
    doc = json.loads(json.dumps(SMALL_TEMPLATE))
    doc["Resources"]["Role"] = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "fixed"}}
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", harness.template(doc))
    assert_rejected(
        harness, code, "CAPABILITY_NAMED_IAM (needed by Role)", "--capabilities CAPABILITY_NAMED_IAM"
    )
    assert harness.calls == []


def test_unknown_capability_is_rejected(harness: Harness) -> None:
    code = harness.run(*harness.deploy_args("--capabilities", "CAPABILITY_EVERYTHING"))
    assert_rejected(harness, code, "unknown capabilities")


def test_template_over_one_megabyte_is_rejected_before_any_call(harness: Harness) -> None:
    doc = json.loads(json.dumps(SMALL_TEMPLATE))
    doc["Description"] = "é" * 500_001  # 1,000,002 UTF-8 bytes, although only 500,001 characters
    code = harness.run(
        "deploy", "--stack-name", STACK, "--template-file", harness.template(doc), "--s3-bucket", "b"
    )
    assert_rejected(harness, code, "1,000,000 bytes")
    assert harness.calls == []


def test_template_over_the_inline_limit_without_a_bucket_is_rejected(harness: Harness) -> None:
    doc = json.loads(json.dumps(SMALL_TEMPLATE))
    doc["Description"] = "x" * 52_000
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", harness.template(doc))
    assert_rejected(harness, code, "51,200-byte inline limit", "--s3-bucket")
    assert harness.calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tags", "NoEquals"], "is not Key=Value"),
        (["--tags", "aws:owner=me"], "reserved"),
        (["--parameter-overrides", "=x"], "is not Key=Value"),
        (["--role-arn", "not-an-arn"], "--role-arn"),
        (["--notification-arns", "arn:aws:sqs:us-east-1:123456789012:q"], "--notification-arns"),
        (["--rollback-alarm", "arn:aws:sns:us-east-1:123456789012:t"], "--rollback-alarm"),
        (["--skip-resources", "Queue"], "--continue-update-rollback"),
        (["--poll-interval", "5", "--max-poll-interval", "1"], "poll intervals"),
    ],
)
def test_malformed_option_is_rejected_without_any_aws_call(
    harness: Harness, args: list[str], message: str
) -> None:
    assert_rejected(harness, harness.run(*harness.deploy_args(*args)), message)
    assert harness.calls == []


def test_invalid_stack_name_is_rejected(harness: Harness) -> None:
    code = harness.run("deploy", "--stack-name", "1_bad", "--template-file", harness.template())
    assert_rejected(harness, code, "stack name")


def test_unparseable_arguments_exit_2(harness: Harness) -> None:
    assert harness.run("deploy", "--stack-name") == ExitCode.BAD_INPUT
    assert harness.run("deploy", "--template-file", "x.json", "--timeout", "soon") == ExitCode.BAD_INPUT
    assert harness.calls == []


def test_stack_policy_file_that_is_not_a_policy_is_rejected(harness: Harness) -> None:
    policy = harness.tmp / "policy.json"
    policy.write_text('{"Effect": "Allow"}')
    code = harness.run(*harness.deploy_args("--stack-policy-file", str(policy)))
    assert_rejected(harness, code, "Statement")


def test_delete_without_yes_off_a_terminal_is_refused_without_any_call(harness: Harness) -> None:
    code = harness.run("delete", "--stack-name", STACK)
    assert_rejected(harness, code, "--yes")
    assert harness.calls == []


# ---- placeholders and Auto Scaling sizes (checked with generate.py's example checks through cfnspec) --------


def test_the_production_example_is_refused_until_its_certificate_placeholder_is_replaced(
    harness: Harness,
) -> None:
    code = harness.run(
        "deploy",
        "--stack-name",
        STACK,
        "--template-file",
        str(OUTPUT / "tap-stack.json"),
        "--parameters-file",
        str(OUTPUT / "tap-stack.prod.parameters.json"),
        "--capabilities",
        "CAPABILITY_IAM",
        "--s3-bucket",
        "templates-bucket",
    )
    assert_rejected(
        harness,
        code,
        "CertificateArn=",
        "placeholder",
        "put your real CertificateArn in its place",
        "ACM certificate",
    )
    assert harness.calls == []


def sized_template(desired: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(SMALL_TEMPLATE))
    doc["Parameters"]["MaxSize"] = {"Type": "Number", "Default": "4", "MinValue": 1, "MaxValue": 10}
    props: dict[str, Any] = {"MinSize": {"Ref": "MinSize"}, "MaxSize": {"Ref": "MaxSize"}}
    if desired:
        doc["Parameters"]["DesiredCapacity"] = {
            "Type": "Number",
            "Default": "2",
            "MinValue": 1,
            "MaxValue": 10,
        }
        props["DesiredCapacity"] = {"Ref": "DesiredCapacity"}
    doc["Resources"]["Group"] = {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": props}
    return doc


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["MinSize=5", "MaxSize=3"], "MinSize=5 is greater than MaxSize=3"),
        (
            ["MinSize=2", "MaxSize=4", "DesiredCapacity=5"],
            "DesiredCapacity=5 is outside [MinSize=2, MaxSize=4]",
        ),
        (["MinSize=3", "DesiredCapacity=2"], "DesiredCapacity=2 is outside [MinSize=3, MaxSize]"),
    ],
)
def test_group_sizes_out_of_order_are_rejected_before_any_aws_call(
    harness: Harness, overrides: list[str], message: str
) -> None:
    template = harness.template(sized_template())
    code = harness.run(
        "deploy", "--stack-name", STACK, "--template-file", template, "--parameter-overrides", *overrides
    )
    assert_rejected(harness, code, message, "Auto Scaling rejects group Group")
    assert harness.calls == []


def test_a_minimum_above_the_default_maximum_is_rejected_for_a_new_stack(harness: Harness) -> None:
    # MaxSize is not given: a new stack takes its default (4), known only once the stack is found missing.
    harness.expect_stack(None)
    template = harness.template(sized_template(desired=False))
    code = harness.run(
        "deploy", "--stack-name", STACK, "--template-file", template, "--parameter-overrides", "MinSize=5"
    )
    assert_rejected(harness, code, "MinSize=5 is greater than MaxSize=4")
    assert [c for c in harness.calls] == ["DescribeStacks"]

"""Parameter files, parameter resolution and capability detection (pure functions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.capabilities import check_capabilities, required_capabilities
from deployer.errors import BadInput
from deployer.inputs import (
    Template,
    check_given_parameters,
    check_value,
    load_template,
    parse_parameter_document,
    resolve_parameters,
)
from tests.deploy.conftest import SMALL_TEMPLATE


def small() -> Template:
    return Template(path=Path("t.json"), body=json.dumps(SMALL_TEMPLATE), doc=SMALL_TEMPLATE)


def test_the_three_parameter_file_formats_give_the_same_values() -> None:
    cli_list = [{"ParameterKey": "InstanceType", "ParameterValue": "t3.small"}]
    pipeline = {"Parameters": {"InstanceType": "t3.small"}}
    flat = {"InstanceType": "t3.small"}
    parsed = [parse_parameter_document(doc, "f").parameters for doc in (cli_list, pipeline, flat)]
    assert parsed == [{"InstanceType": "t3.small"}] * 3


def test_template_configuration_file_carries_tags_and_stack_policy() -> None:
    policy = {
        "Statement": [{"Effect": "Deny", "Action": "Update:Replace", "Principal": "*", "Resource": "*"}]
    }
    parsed = parse_parameter_document(
        {"Parameters": {"A": "1"}, "Tags": {"Team": "web"}, "StackPolicy": policy}, "f"
    )
    assert parsed.tags == {"Team": "web"}
    assert parsed.stack_policy == policy


def test_template_configuration_may_carry_only_tags_or_only_a_stack_policy() -> None:
    # Each of CodePipeline's three keys is optional.
    assert parse_parameter_document({"Tags": {"Team": "web"}}, "f").tags == {"Team": "web"}
    policy = {"Statement": []}
    assert parse_parameter_document({"StackPolicy": policy}, "f").stack_policy == policy


def test_flat_file_may_name_a_parameter_tags() -> None:
    assert parse_parameter_document({"Tags": "a,b"}, "f").parameters == {"Tags": "a,b"}


def test_cli_list_format_accepts_use_previous_value() -> None:
    parsed = parse_parameter_document([{"ParameterKey": "A", "UsePreviousValue": True}], "f")
    assert parsed.parameters == {"A": None}


def test_numbers_and_booleans_in_parameter_files_become_cloudformation_strings() -> None:
    assert parse_parameter_document({"MinSize": 2, "Flag": True}, "f").parameters == {
        "MinSize": "2",
        "Flag": "true",
    }


def test_update_keeps_previous_values_only_for_parameters_in_both_templates() -> None:
    resolved = resolve_parameters(small(), {"MinSize": "3"}, existing=["EnvironmentSuffix", "Removed"])
    assert resolved == [
        {"ParameterKey": "EnvironmentSuffix", "UsePreviousValue": True},
        {"ParameterKey": "MinSize", "ParameterValue": "3"},
    ]


def test_create_sends_only_given_parameters_and_defaults_apply_to_the_rest() -> None:
    assert resolve_parameters(small(), {}, existing=None) == []


def test_all_violations_are_reported_together() -> None:
    with pytest.raises(BadInput) as caught:
        resolve_parameters(small(), {"MinSize": "0", "InstanceType": "huge"}, existing=None)
    assert "MinValue" in str(caught.value) and "is not one of" in str(caught.value)


def test_allowed_pattern_must_match_the_whole_value() -> None:
    assert check_value("P", "abc1", {"AllowedPattern": "[a-z]+"}) != []
    assert check_value("P", "abc", {"AllowedPattern": "[a-z]+"}) == []


def test_allowed_pattern_in_java_syntax_is_read_as_java_reads_it() -> None:
    # Java's \p{Alpha} is not Python regex syntax: translated, so neither a crash nor a pass for any value.
    assert check_value("P", "abc", {"AllowedPattern": "\\p{Alpha}+"}) == []
    assert check_value("P", "ab1", {"AllowedPattern": "\\p{Alpha}+"}) != []


def test_allowed_pattern_python_cannot_read_is_left_to_cloudformation() -> None:
    # A class intersection has no Python equivalent: not a reason to reject a value AWS may accept.
    assert check_value("P", "bee", {"AllowedPattern": "[a-z&&[^e]]+"}) == []


def test_example_placeholder_is_refused_before_any_aws_call_and_a_real_value_is_not() -> None:
    output = Path(__file__).resolve().parents[2] / "output"
    template = load_template(output / "tap-stack.json")
    prod = json.loads((output / "tap-stack.prod.parameters.json").read_text())["Parameters"]
    with pytest.raises(BadInput) as caught:
        check_given_parameters(template, prod)
    assert "CertificateArn=" in str(
        caught.value
    ) and "put your real CertificateArn in its place (ARN of an ACM" in str(caught.value)
    real = {**prod, "CertificateArn": "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f"}
    check_given_parameters(template, real)
    assert resolve_parameters(template, real, existing=None)


def test_list_parameters_are_checked_item_by_item() -> None:
    spec = {"Type": "List<Number>", "MinValue": 1}
    assert check_value("L", "1,2,3", spec) == []
    assert len(check_value("L", "1,0,-1", spec)) == 2


def test_yaml_templates_with_short_intrinsic_tags_are_read(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub a-${AWS::Region}\n"
    )
    assert load_template(path).doc["Resources"]["Topic"]["Properties"]["TopicName"] == {
        "Fn::Sub": "a-${AWS::Region}"
    }


def test_iam_resources_need_capability_iam_and_named_ones_capability_named_iam() -> None:
    doc = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Profile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"InstanceProfileName": "x"}},
            "Topic": {"Type": "AWS::SNS::Topic"},
        }
    }
    assert required_capabilities(doc) == {"CAPABILITY_IAM": ["Role"], "CAPABILITY_NAMED_IAM": ["Profile"]}


def test_macros_need_capability_auto_expand() -> None:
    assert "CAPABILITY_AUTO_EXPAND" in required_capabilities(
        {"Transform": "AWS::Serverless-2016-10-31", "Resources": {}}
    )
    nested = {"Resources": {"A": {"Type": "X", "Properties": {"Fn::Transform": {"Name": "M"}}}}}
    assert "CAPABILITY_AUTO_EXPAND" in required_capabilities(nested)


def test_named_iam_acknowledgement_covers_unnamed_iam_resources() -> None:
    doc = {"Resources": {"Role": {"Type": "AWS::IAM::Role"}}}
    assert check_capabilities(doc, ["CAPABILITY_NAMED_IAM"]) == ["CAPABILITY_NAMED_IAM"]
    with pytest.raises(BadInput):
        check_capabilities(doc, [])


def test_the_generated_stack_template_passes_input_checks_and_needs_capability_iam_only() -> None:
    # output/ is committed (generate.py --check keeps it current), so the template is always there.
    template = load_template(Path(__file__).resolve().parents[2] / "output" / "tap-stack.json")
    assert resolve_parameters(template, {}, existing=None) == []
    # The instance role has no RoleName (templates/security.py), so CAPABILITY_NAMED_IAM is not needed.
    assert check_capabilities(template.doc, ["CAPABILITY_IAM"]) == ["CAPABILITY_IAM"]

"""cfnspec.resolve: intrinsic functions, conditions, parameter and pseudo-parameter values, as CloudFormation does."""

from __future__ import annotations

from typing import Any

import pytest

from cfnspec.resolve import (
    NO_VALUE,
    UNRESOLVED,
    Scope,
    condition,
    contains_unresolved,
    parameter_values,
    present,
    pseudo_parameters,
    resolve,
)
from tests.resolver_sample import STACK_ARN, TEMPLATE

PSEUDO = pseudo_parameters(STACK_ARN, "web")


def scope(
    given: dict[str, str], previous: dict[str, str] | None = None, doc: dict[str, Any] = TEMPLATE
) -> Scope:
    return Scope(parameter_values(doc, given, previous), PSEUDO, doc, symbolic_resources=True)


def test_pseudo_parameters_come_from_the_stack_arn() -> None:
    assert PSEUDO["AWS::Region"] == "eu-west-1" and PSEUDO["AWS::AccountId"] == "123456789012"
    assert pseudo_parameters("arn:aws-cn:cloudformation:cn-north-1:1:stack/s/x", "s")["AWS::URLSuffix"] == (
        "amazonaws.com.cn"
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Fn::Sub": "site-${Env}-${AWS::Region}"}, "site-dev-eu-west-1"),
        ({"Fn::Sub": ["${A}-${!Literal}", {"A": {"Ref": "Env"}}]}, "dev-${Literal}"),
        ({"Fn::Join": ["-", [{"Ref": "Env"}, "x"]]}, "dev-x"),
        ({"Fn::Select": [2, {"Ref": "Names"}]}, "c"),
        ({"Fn::Select": [0, {"Fn::Split": [",", "p,q"]}]}, "p"),
        ({"Fn::If": ["IsProd", "big", "small"]}, "small"),
        ({"Fn::If": ["IsProd", "big", {"Ref": "AWS::NoValue"}]}, None),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Days"]}, "7"),
        ({"Ref": "Bucket"}, "{Ref:Bucket}"),
        ({"Fn::GetAtt": ["Bucket", "Arn"]}, "{GetAtt:Bucket.Arn}"),
        ({"Ref": "Secret"}, UNRESOLVED),
        ({"Fn::GetAZs": ""}, UNRESOLVED),
        ({"Fn::Sub": "x-${Secret}"}, UNRESOLVED),
        ({"Fn::If": ["SecretSet", "a", "b"]}, UNRESOLVED),
    ],
)
def test_expressions_resolve_or_stay_unknown(expression: Any, expected: Any) -> None:
    value = resolve({"P": expression}, scope({"Env": "dev"})).get("P")
    assert value == expected if expected is not UNRESOLVED else value is UNRESOLVED


def test_conditions_evaluate_with_and_or_not_and_unknown() -> None:
    assert condition("WithLogs", scope({"Env": "dev"})) is True
    assert condition("WithLogs", scope({"Env": "prod"})) is False
    assert condition("SecretSet", scope({})) is None
    assert condition(
        {"Fn::Or": [{"Condition": "SecretSet"}, {"Condition": "IsProd"}]}, scope({"Env": "prod"})
    )


@pytest.mark.parametrize(
    ("resource", "given", "expected"),
    [
        ("Bucket", {"Env": "prod"}, True),  # no Condition: always there
        ("Logs", {"Env": "dev"}, True),
        ("Logs", {"Env": "prod"}, False),
        ("Logs", {"UseLogs": "no"}, False),
    ],
)
def test_a_resource_is_present_as_its_condition_says(
    resource: str, given: dict[str, str], expected: bool
) -> None:
    assert present(TEMPLATE["Resources"][resource], scope(given)) is expected


def test_a_resource_under_a_condition_that_cannot_be_evaluated_offline_may_or_may_not_be_present() -> None:
    secret = {"Type": "AWS::S3::Bucket", "Condition": "SecretSet"}
    assert present(secret, scope({}, {"Secret": "****"})) is None
    assert present(secret, scope({"Secret": "x"})) is True
    assert present({"Type": "AWS::S3::Bucket", "Condition": "NoSuchCondition"}, scope({})) is None


def test_a_condition_over_an_ssm_parameter_cannot_be_decided_offline() -> None:
    # Its value is the parameter store's, not the parameter's name the scope stands in with.
    doc = {
        "Parameters": {"Ami": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/ami/latest"}},
        "Conditions": {"Pinned": {"Fn::Equals": [{"Fn::Sub": "x-${Ami}"}, "x-ami-123"]}},
    }
    assert condition("Pinned", Scope(parameter_values(doc, {}), PSEUDO, doc)) is None


def test_resources_and_attributes_are_unresolved_unless_named_symbolically() -> None:
    plain = Scope(parameter_values(TEMPLATE, {}), PSEUDO, TEMPLATE)
    assert resolve({"Ref": "Bucket"}, plain) is UNRESOLVED
    assert resolve({"Fn::GetAtt": ["Bucket", "Arn"]}, plain) is UNRESOLVED
    assert resolve({"Fn::Sub": "${Bucket.Arn}/*"}, plain) is UNRESOLVED
    assert resolve({"Fn::Sub": "${Bucket.Arn}/*"}, scope({})) == "{GetAtt:Bucket.Arn}/*"


def test_get_azs_uses_the_zones_the_scope_is_given() -> None:
    zoned = Scope({}, PSEUDO, {}, availability_zones=lambda: ["eu-west-1a", "eu-west-1b"])
    assert resolve({"Fn::Select": [1, {"Fn::GetAZs": ""}]}, zoned) == "eu-west-1b"
    assert resolve({"Fn::GetAZs": {"Ref": "AWS::Region"}}, zoned) == ["eu-west-1a", "eu-west-1b"]


def test_no_value_is_left_out_of_lists_and_properties_and_kept_at_the_top() -> None:
    s = scope({"Env": "dev"})
    dropped = {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}
    assert resolve({"A": dropped, "B": ["k", dropped]}, s) == {"B": ["k"]}
    assert resolve({"Ref": "AWS::NoValue"}, s) is NO_VALUE


def test_parameter_values_come_given_then_previous_then_default_and_typed() -> None:
    values = parameter_values(
        {
            "Parameters": {
                "A": {"Type": "String", "Default": "a"},
                "L": {"Type": "List<AWS::EC2::Subnet::Id>"},
                "S": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/ami"},
                "N": {"Type": "String", "NoEcho": True},
            }
        },
        {"L": "s-1, s-2"},
        {"A": "previous", "N": "****"},
    )
    assert values == {"A": "previous", "L": ["s-1", "s-2"], "S": "{SSM:/ami}", "N": UNRESOLVED}


def test_unknown_functions_and_import_value_are_unresolved_and_found_nested() -> None:
    s = scope({})
    assert resolve({"Fn::ImportValue": "shared-vpc"}, s) is UNRESOLVED
    assert resolve({"Fn::Base64": {"Fn::Sub": "echo ${Env}"}}, s) == {"Fn::Base64": "echo dev"}
    nested = resolve({"A": [{"B": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}}]}, s)
    assert contains_unresolved(nested)
    assert not contains_unresolved(resolve({"A": [{"B": {"Ref": "Env"}}]}, s))

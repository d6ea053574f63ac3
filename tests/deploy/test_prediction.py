"""Offline replacement prediction: template resolution and create-only properties from cfn-lint's schemas."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.guard import Prediction
from deployer.prediction import (
    UNKNOWN,
    Scope,
    condition,
    create_only_paths,
    parameter_values,
    predict_replacements,
    pseudo_parameters,
    resolve,
)

STACK_ARN = "arn:aws:cloudformation:eu-west-1:123456789012:stack/web/0f1e2d3c"
PSEUDO = pseudo_parameters(STACK_ARN, "web")
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Env": {"Type": "String", "Default": "dev"},
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b,c"},
        "Secret": {"Type": "String", "NoEcho": True},
        "UseLogs": {"Type": "String", "Default": "yes"},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "WithLogs": {
            "Fn::And": [{"Fn::Equals": [{"Ref": "UseLogs"}, "yes"]}, {"Fn::Not": [{"Condition": "IsProd"}]}]
        },
        "SecretSet": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Secret"}, ""]}]},
    },
    "Mappings": {"Sizes": {"dev": {"Days": "7"}, "prod": {"Days": "90"}}},
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "site-${Env}-${AWS::AccountId}-${AWS::Region}"}},
        },
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Condition": "WithLogs",
            "Properties": {
                "LogGroupName": {"Fn::Join": ["/", ["", "app", {"Fn::Select": [1, {"Ref": "Names"}]}]]},
                "RetentionInDays": {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Days"]},
            },
        },
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": {"Fn::Sub": "key ${Env}"}}},
    },
}


def scope(
    given: dict[str, str], previous: dict[str, str] | None = None, doc: dict[str, Any] = TEMPLATE
) -> Scope:
    return Scope(parameter_values(doc, given, previous), PSEUDO, doc)


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
        ({"Ref": "Secret"}, UNKNOWN),
        ({"Fn::GetAZs": ""}, UNKNOWN),
        ({"Fn::Sub": "x-${Secret}"}, UNKNOWN),
        ({"Fn::If": ["SecretSet", "a", "b"]}, UNKNOWN),
    ],
)
def test_expressions_resolve_or_stay_unknown(expression: Any, expected: Any) -> None:
    value = resolve({"P": expression}, scope({"Env": "dev"})).get("P")
    assert value == expected if expected is not UNKNOWN else value is UNKNOWN


def test_conditions_evaluate_with_and_or_not_and_unknown() -> None:
    assert condition("WithLogs", scope({"Env": "dev"})) is True
    assert condition("WithLogs", scope({"Env": "prod"})) is False
    assert condition("SecretSet", scope({})) is None
    assert condition(
        {"Fn::Or": [{"Condition": "SecretSet"}, {"Condition": "IsProd"}]}, scope({"Env": "prod"})
    )


def test_create_only_properties_are_read_from_cfn_lints_schemas() -> None:
    assert ("BucketName",) in create_only_paths("AWS::S3::Bucket")
    assert create_only_paths("AWS::Logs::LogGroup") == (("LogGroupName",),)
    assert create_only_paths("AWS::KMS::Key") == ()
    assert create_only_paths("AWS::Nothing::Here") == ()
    assert create_only_paths("AWS::S3::Bucket", "xx-nowhere-1") == create_only_paths("AWS::S3::Bucket")


def test_a_parameter_that_renames_a_bucket_predicts_its_replacement() -> None:
    predicted = predict_replacements(
        TEMPLATE, scope({"Env": "dev"}), TEMPLATE, scope({"Env": "test"}), "eu-west-1"
    )
    assert predicted == [Prediction("Bucket", "AWS::S3::Bucket", ("BucketName",))]


def test_same_values_or_a_changed_mutable_property_predict_nothing() -> None:
    assert (
        predict_replacements(TEMPLATE, scope({"Env": "dev"}), TEMPLATE, scope({}, {"Env": "dev"}), "x") == []
    )
    changed = {**TEMPLATE, "Resources": {**TEMPLATE["Resources"], "Key": {"Type": "AWS::KMS::Key"}}}
    assert predict_replacements(TEMPLATE, scope({"Env": "dev"}), changed, scope({"Env": "dev"}), "x") == []


def test_an_unresolvable_value_is_a_possible_replacement_unless_expression_and_inputs_are_the_same() -> None:
    secret = {**TEMPLATE["Resources"]["Bucket"], "Properties": {"BucketName": {"Fn::Sub": "s-${Secret}"}}}
    doc = {**TEMPLATE, "Resources": {"Bucket": secret}}
    assert (
        predict_replacements(
            doc, scope({"Secret": "****"}, doc=doc), doc, scope({"Secret": "****"}, doc=doc), "x"
        )
        == []
    )
    (uncertain,) = predict_replacements(TEMPLATE, scope({}), doc, scope({}, doc=doc), "x")
    assert uncertain.logical_id == "Bucket" and not uncertain.certain


def test_a_changed_resource_type_or_list_element_is_a_replacement() -> None:
    retyped = {**TEMPLATE, "Resources": {"Key": {"Type": "AWS::KMS::ReplicaKey", "Properties": {}}}}
    (change,) = predict_replacements(TEMPLATE, scope({}), retyped, scope({}, doc=retyped), "x")
    assert change.properties == ("Type",)
    (renamed,) = predict_replacements(
        TEMPLATE, scope({"Env": "dev"}), TEMPLATE, scope({"Env": "dev", "Names": "a,z"}), "x"
    )
    assert renamed == Prediction("Logs", "AWS::Logs::LogGroup", ("LogGroupName",))


def test_a_resource_whose_condition_turns_false_is_not_predicted_as_replaced() -> None:
    predicted = predict_replacements(TEMPLATE, scope({"Env": "dev"}), TEMPLATE, scope({"Env": "prod"}), "x")
    assert [p.logical_id for p in predicted] == ["Bucket"]

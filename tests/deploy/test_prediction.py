"""Offline replacement prediction (the resolver and the create-only properties: tests/unit/test_cfnspec_*.py)."""

from __future__ import annotations

from typing import Any

from deployer.guard import Prediction
from deployer.prediction import Scope, parameter_values, predict_replacements, pseudo_parameters
from tests.resolver_sample import STACK_ARN, TEMPLATE

PSEUDO = pseudo_parameters(STACK_ARN, "web")


def scope(
    given: dict[str, str], previous: dict[str, str] | None = None, doc: dict[str, Any] = TEMPLATE
) -> Scope:
    return Scope(parameter_values(doc, given, previous), PSEUDO, doc)


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

"""Conditions in the offline prediction: a resource whose Condition turns false is removed, one whose Condition
cannot be evaluated offline may be removed (or replaced), and the guard refuses both unless allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

from deployer.errors import ExitCode
from deployer.guard import (
    CONDITIONAL,
    POSSIBLE_REMOVAL,
    PREDICTION,
    REMOVAL,
    Allowances,
    Prediction,
    find_dangers,
    stateful_resources,
    unallowed,
)
from deployer.prediction import Scope, parameter_values, predict, predict_removals, pseudo_parameters
from deployer.stack_policy import default_policy
from tests.deploy.conftest import CS_ID, STACK, STACK_ID, Harness
from tests.deploy.test_stack_policy import allows
from tests.resolver_sample import STACK_ARN, TEMPLATE

PSEUDO = pseudo_parameters(STACK_ARN, "web")
TAP_STACK: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "output" / "tap-stack.json").read_text(encoding="utf-8")
)
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# A bucket that exists only when the NoEcho parameter Secret is set: offline, "****" decides nothing.
SECRET_BUCKET: dict[str, Any] = {
    **TEMPLATE,
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Condition": "SecretSet",
            "Properties": {"BucketName": "data-a"},
        }
    },
}


def scope(
    given: dict[str, str], previous: dict[str, str] | None = None, doc: dict[str, Any] = TEMPLATE
) -> Scope:
    return Scope(parameter_values(doc, given, previous), PSEUDO, doc)


def test_a_condition_turning_false_predicts_a_certain_removal_named_after_the_condition() -> None:
    predicted = predict_removals(TEMPLATE, scope({"Env": "dev"}), TEMPLATE, scope({"Env": "prod"}))
    assert predicted == [
        Prediction("Logs", "AWS::Logs::LogGroup", ("Condition WithLogs is false",), True, removal=True)
    ]
    assert predict_removals(TEMPLATE, scope({"Env": "prod"}), TEMPLATE, scope({"Env": "dev"})) == []


def test_switching_kms_key_arn_to_an_existing_key_removes_the_stacks_key_and_its_alias() -> None:
    stack_arn = STACK_ID
    pseudo = pseudo_parameters(stack_arn, STACK)
    old = Scope(parameter_values(TAP_STACK, {}), pseudo, TAP_STACK)
    new = Scope(parameter_values(TAP_STACK, {"KmsKeyArn": KEY_ARN}, {"KmsKeyArn": ""}), pseudo, TAP_STACK)
    removed = [p for p in predict(TAP_STACK, old, TAP_STACK, new, "us-east-1") if p.removal]
    assert {(p.logical_id, p.kind) for p in removed} == {("KmsKey", REMOVAL), ("KmsKeyAlias", REMOVAL)}
    (danger,) = find_dangers([], removed, stateful_resources(TAP_STACK))
    assert (danger.logical_id, danger.kind, danger.sources) == ("KmsKey", REMOVAL, (PREDICTION,))
    assert danger.flag == "--allow-removal KmsKey"
    assert unallowed([danger], Allowances.of(replacement=["KmsKey"])) == [danger]
    assert unallowed([danger], Allowances.of(removal=["KmsKey"])) == []


@pytest.mark.parametrize(
    ("before", "after", "new_doc", "expected"),
    [
        # evaluable before, undecidable after: the resource may be gone
        ({"Secret": "s3cr3t"}, {"Secret": "****"}, SECRET_BUCKET, POSSIBLE_REMOVAL),
        # undecidable before, false after: it may have existed
        ({"Secret": "****"}, {"Secret": ""}, SECRET_BUCKET, POSSIBLE_REMOVAL),
        # undecidable on both sides, over the same inputs: whatever it was, it stays
        ({"Secret": "****"}, {"Secret": "****"}, SECRET_BUCKET, None),
        # undecidable before, true after: it exists afterwards
        ({"Secret": "****"}, {"Secret": "s3cr3t"}, SECRET_BUCKET, None),
        # undecidable before, dropped from the template: it may have existed
        ({"Secret": "****"}, {"Secret": "****"}, {**TEMPLATE, "Resources": {}}, POSSIBLE_REMOVAL),
        # false before: nothing existed to lose
        ({"Secret": ""}, {"Secret": "****"}, SECRET_BUCKET, None),
    ],
)
def test_an_undecidable_condition_is_a_possible_removal_unless_the_resource_certainly_stays(
    before: dict[str, str], after: dict[str, str], new_doc: dict[str, Any], expected: str | None
) -> None:
    predicted = predict_removals(
        SECRET_BUCKET, scope(before, doc=SECRET_BUCKET), new_doc, scope(after, doc=new_doc)
    )
    assert [p.kind for p in predicted] == ([expected] if expected else [])
    if expected:
        (danger,) = find_dangers([], predicted, stateful_resources(SECRET_BUCKET))
        assert danger.kind == POSSIBLE_REMOVAL and danger.flag == "--allow-removal Bucket"


def test_a_resource_under_an_undecidable_condition_is_still_compared_for_replacement() -> None:
    renamed = {
        **SECRET_BUCKET,
        "Resources": {
            "Bucket": {**SECRET_BUCKET["Resources"]["Bucket"], "Properties": {"BucketName": "data-b"}}
        },
    }
    masked = {"Secret": "****"}
    predicted = predict(
        SECRET_BUCKET, scope(masked, doc=SECRET_BUCKET), renamed, scope(masked, doc=renamed), "x"
    )
    # It is replaced if it exists, and whether it exists cannot be known offline.
    assert predicted == [Prediction("Bucket", "AWS::S3::Bucket", ("BucketName",), False)]
    (danger,) = find_dangers([], predicted, {})
    assert danger.kind == CONDITIONAL and danger.flag == "--allow-replacement Bucket"


def test_a_listed_removal_absorbs_the_predicted_possible_one() -> None:
    listed = {"Action": "Remove", "LogicalResourceId": "Bucket", "ResourceType": "AWS::S3::Bucket"}
    possible = Prediction("Bucket", "AWS::S3::Bucket", ("Condition SecretSet is false",), False, removal=True)
    (danger,) = find_dangers([listed], [possible], {})
    assert danger.kind == REMOVAL and danger.properties == ("Condition SecretSet is false",)


# ---- through the CLI: execute of a change set that lists nothing, with the generated stack template ----------


def _execute_with_kms_key_arn(harness: Harness, value: str) -> None:
    defaults = [{"ParameterKey": "KmsKeyArn", "ParameterValue": ""}]
    harness.expect_stack("UPDATE_COMPLETE", Parameters=defaults)
    page = harness.change_set_page("CREATE_COMPLETE")
    page["Parameters"] = [{"ParameterKey": "KmsKeyArn", "ParameterValue": value}]
    harness.stub.add_response(
        "describe_change_set",
        page,
        {"ChangeSetName": "tap-deploy-update-x", "StackName": STACK, "IncludePropertyValues": True},
    )
    harness.stub.add_response(
        "get_template",
        {"TemplateBody": json.dumps(TAP_STACK)},
        {"StackName": STACK_ID, "ChangeSetName": CS_ID},
    )
    harness.expect_deployed_template(TAP_STACK)


def test_bringing_a_kms_key_is_refused_with_exit_10_until_the_removal_of_the_stacks_key_is_allowed(
    harness: Harness,
) -> None:
    _execute_with_kms_key_arn(harness, KEY_ARN)
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-update-x")
    assert code == ExitCode.DATA_LOSS_REFUSED
    assert harness.mutating_calls == []
    error = harness.errors.strip()
    for part in (
        "removal of KmsKey",
        "Condition CreateKmsKey is false",
        "offline prediction",
        "--allow-removal KmsKey",
    ):
        assert part in error, part
    assert "KmsKeyAlias" not in error, "an alias holds no data"
    assert "DANGER removal of KmsKey" in harness.output


def test_keeping_the_key_arn_empty_is_no_removal(harness: Harness) -> None:
    _execute_with_kms_key_arn(harness, "")
    # execute sets the executed template's default policy before the update runs
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    harness.expect_successful_execution(policy_read=False)
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-update-x")
    assert code == ExitCode.SUCCESS, harness.errors
    assert "DANGER" not in harness.output


def test_allow_removal_kms_key_opens_the_policy_for_the_key_alone_and_executes(harness: Harness) -> None:
    policies: list[dict[str, Any]] = []
    harness.cfn.meta.events.register(
        "provide-client-params.cloudformation.SetStackPolicy",
        lambda params, **_: policies.append(json.loads(params["StackPolicyBody"])),
    )
    _execute_with_kms_key_arn(harness, KEY_ARN)
    # The policy opened is the executed template's default (execute computes it; no read of the stack's policy).
    current = default_policy(TAP_STACK)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    harness.expect_successful_execution(policy_read=False)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    code = harness.run(
        "execute",
        "--stack-name",
        STACK,
        "--change-set-name",
        "tap-deploy-update-x",
        "--allow-removal",
        "KmsKey",
    )
    assert code == ExitCode.SUCCESS, harness.errors
    during, after = policies
    assert allows(during, "Update:Delete", "KmsKey") and not allows(
        during, "Update:Delete", "StaticContentBucket"
    )
    assert after == current

"""The default stack policy and its temporary opening, checked by evaluating the policies, not by their text."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.stub import ANY

from deployer.errors import BadInput
from deployer.stack_policy import default_policy, opened_for
from tests.deploy.conftest import STACK_ID, Harness, change

ACTIONS = ("Update:Modify", "Update:Replace", "Update:Delete")
STATEFUL_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "StaticContentBucket": {"Type": "AWS::S3::Bucket"},
        "KmsKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": "{}"}},
        "AppLogGroup": {"Type": "AWS::Logs::LogGroup"},
        "Database": {"Type": "AWS::RDS::DBInstance", "UpdateReplacePolicy": "Snapshot"},
        "Keeper": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "RetainExceptOnCreate"},
        "Topic": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "Delete"},
    }
}


# Stack policies are evaluated here, not with cfnspec.policy: they have their own semantics. Their actions are
# Update:Modify/Replace/Delete (matched case-sensitively), their resources are LogicalResourceId/<id> patterns,
# NotResource is common, the principal is always "*", and no condition key of IAM's applies. Bending the IAM
# evaluator to that would make both harder to trust.
def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    def any_match(patterns: Any, text: str) -> bool:
        return any(fnmatch.fnmatchcase(text, p) for p in _listed(patterns))

    if "Action" in statement and not any_match(statement["Action"], action):
        return False
    if "NotAction" in statement and any_match(statement["NotAction"], action):
        return False
    if "Resource" in statement and not any_match(statement["Resource"], resource):
        return False
    return not ("NotResource" in statement and any_match(statement["NotResource"], resource))


def allows(policy: Mapping[str, Any], action: str, logical_id: str) -> bool:
    """Stack-policy semantics: an explicit Deny wins, otherwise an Allow is needed (the default is deny)."""
    resource = f"LogicalResourceId/{logical_id}"
    matching = [s for s in _listed_statements(policy) if _applies(s, action, resource)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


def _listed_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement") or []
    return statements if isinstance(statements, list) else [statements]


def test_the_evaluator_follows_deny_wins_and_default_deny() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "Update:Replace",
                "Principal": "*",
                "Resource": "LogicalResourceId/Data*",
            },
        ]
    }
    assert allows(policy, "Update:Modify", "Database")
    assert not allows(policy, "Update:Replace", "Database")
    assert allows(policy, "Update:Replace", "Topic")
    assert not allows({"Statement": []}, "Update:Modify", "Topic")


def test_default_policy_denies_replacing_and_deleting_stateful_resources_only() -> None:
    policy = default_policy(STATEFUL_TEMPLATE)
    assert policy is not None
    protected = {"StaticContentBucket", "KmsKey", "AppLogGroup", "Database", "Keeper"}
    for logical_id in [*protected, "Topic", "SomethingNew"]:
        assert allows(policy, "Update:Modify", logical_id), logical_id
        for action in ("Update:Replace", "Update:Delete"):
            assert allows(policy, action, logical_id) is (logical_id not in protected), (action, logical_id)


def test_a_template_without_stateful_resources_gets_no_policy() -> None:
    assert default_policy({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}) is None


def test_opening_allows_exactly_the_named_resources() -> None:
    policy = default_policy(STATEFUL_TEMPLATE)
    assert policy is not None
    opened = opened_for(policy, ["StaticContentBucket"])
    assert allows(opened, "Update:Replace", "StaticContentBucket")
    assert allows(opened, "Update:Delete", "StaticContentBucket")
    for other in ("KmsKey", "AppLogGroup", "Database", "Keeper"):
        assert not allows(opened, "Update:Replace", other), other
    assert not allows(policy, "Update:Replace", "StaticContentBucket"), "the original must stay untouched"


def test_opening_a_users_policy_that_protects_by_wildcard_is_refused() -> None:
    users = {"Statement": [{"Effect": "Deny", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}
    with pytest.raises(BadInput, match="wildcard"):
        opened_for(users, ["StaticContentBucket"])


def test_default_policy_is_sent_once_a_new_stack_exists(harness: Harness) -> None:
    template = harness.template(STATEFUL_TEMPLATE, "stateful.json")
    policies = harness.recorded_policies()
    harness.expect_stack(None)
    harness.expect_create_change_set("CREATE", Parameters=[])
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Add", "StaticContentBucket")]])
    harness.expect_successful_execution(final="CREATE_COMPLETE", start="CREATE_IN_PROGRESS")
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    code = harness.run("deploy", "--stack-name", "app", "--template-file", template)
    assert code == 0
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet", "SetStackPolicy"]
    (policy,) = policies
    assert not allows(policy, "Update:Replace", "StaticContentBucket")
    assert not allows(policy, "Update:Delete", "AppLogGroup")
    assert allows(policy, "Update:Replace", "Topic")


def test_default_policy_is_sent_before_an_update_executes(harness: Harness) -> None:
    template = harness.template(STATEFUL_TEMPLATE, "stateful.json")
    policies = harness.recorded_policies()
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_deployed_template(STATEFUL_TEMPLATE)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    harness.expect_successful_execution(policy_read=False)
    assert harness.run("deploy", "--stack-name", "app", "--template-file", template) == 0
    assert harness.mutating_calls == ["CreateChangeSet", "SetStackPolicy", "ExecuteChangeSet"]
    (policy,) = policies
    assert not allows(policy, "Update:Replace", "KmsKey") and allows(policy, "Update:Modify", "KmsKey")

"""The data-loss guard: what counts as stateful and dangerous, and refusals and allowances through the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import ANY

from deployer.errors import ExitCode
from deployer.guard import (
    CHANGE_SET,
    CONDITIONAL,
    PREDICTION,
    REMOVAL,
    REPLACEMENT,
    Allowances,
    Prediction,
    find_dangers,
    stateful_resources,
    unallowed,
)
from deployer.stack_policy import default_policy
from tests.deploy.conftest import STACK, STACK_ID, Harness
from tests.deploy.test_stack_policy import allows

BUCKET_TEMPLATE: dict[str, Any] = {
    "Parameters": {"EnvironmentSuffix": {"Type": "String", "Default": "dev"}},
    "Resources": {
        "StaticContentBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "site-${EnvironmentSuffix}-${AWS::AccountId}"}},
        },
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": {"Fn::Sub": "t-${EnvironmentSuffix}"}},
        },
    },
}
DEV = [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "dev"}]


def entry(
    action: str, logical_id: str, rtype: str, replacement: str | None = None, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": rtype, **extra}
    if replacement:
        item["Replacement"] = replacement
    return item


def bucket_name_detail() -> list[dict[str, Any]]:
    return [
        {
            "Target": {"Attribute": "Properties", "Name": "BucketName", "RequiresRecreation": "Always"},
            "Evaluation": "Static",
            "ChangeSource": "DirectModification",
        }
    ]


# ---- what is stateful, what is dangerous --------------------------------------------------------------------


def test_stateful_resources_come_from_types_and_policies_in_the_template() -> None:
    doc = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Key": {"Type": "AWS::KMS::Key"},
            "Logs": {"Type": "AWS::Logs::LogGroup"},
            "Db": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot"},
            "Volume": {"Type": "AWS::EC2::Volume", "UpdateReplacePolicy": "Retain"},
            "Kept": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "RetainExceptOnCreate"},
            "Topic": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "Delete"},
        }
    }
    assert set(stateful_resources(doc)) == {"Bucket", "Key", "Logs", "Db", "Volume", "Kept"}
    assert stateful_resources(doc)["Db"] == "DeletionPolicy Snapshot"


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (entry("Remove", "Bucket", "AWS::S3::Bucket"), REMOVAL),
        (entry("Modify", "Key", "AWS::KMS::Key", "True"), REPLACEMENT),
        (entry("Modify", "Logs", "AWS::Logs::LogGroup", "Conditional"), CONDITIONAL),
        (entry("Dynamic", "Db", "AWS::RDS::DBInstance", "True"), REPLACEMENT),
        (entry("Modify", "Bucket", "AWS::S3::Bucket", "False"), None),
        (entry("Add", "Bucket", "AWS::S3::Bucket"), None),
        (entry("Modify", "Topic", "AWS::SNS::Topic", "True"), None),
        (entry("Remove", "Topic", "AWS::SNS::Topic"), None),
    ],
)
def test_only_removal_and_replacement_of_stateful_resources_are_dangers(
    change: dict[str, Any], kind: str | None
) -> None:
    stateful = {"Db": "DeletionPolicy Snapshot"}
    dangers = find_dangers([change], [], stateful)
    assert [d.kind for d in dangers] == ([kind] if kind else [])


def test_both_sources_are_named_and_a_certain_replacement_absorbs_a_conditional_one() -> None:
    changes = [entry("Modify", "Bucket", "AWS::S3::Bucket", "Conditional", Details=bucket_name_detail())]
    predicted = [Prediction("Bucket", "AWS::S3::Bucket", ("BucketName",))]
    (danger,) = find_dangers(changes, predicted, {})
    assert (danger.kind, danger.sources, danger.properties) == (
        REPLACEMENT,
        (CHANGE_SET, PREDICTION),
        ("BucketName",),
    )
    (uncertain,) = find_dangers([], [Prediction("Bucket", "AWS::S3::Bucket", ("BucketName",), False)], {})
    assert uncertain.kind == CONDITIONAL and uncertain.sources == (PREDICTION,)


def test_allowances_are_per_resource_and_per_kind() -> None:
    dangers = find_dangers(
        [
            entry("Remove", "Logs", "AWS::Logs::LogGroup"),
            entry("Modify", "Bucket", "AWS::S3::Bucket", "True"),
        ],
        [],
        {},
    )
    assert unallowed(dangers, Allowances.of(["Bucket"], ["Logs"])) == []
    assert [d.logical_id for d in unallowed(dangers, Allowances.of(["Logs"], ["Bucket"]))] == [
        "Bucket",
        "Logs",
    ]
    assert [d.logical_id for d in unallowed(dangers, Allowances.of(["Bucket"]))] == ["Logs"]


# ---- through the CLI, with Stubber for the Replacement values moto never produces -------------------------------


def _update_until_review(harness: Harness, changes: list[dict[str, Any]]) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=DEV)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([changes])
    harness.expect_deployed_template(BUCKET_TEMPLATE)


def _deploy(harness: Harness, *extra: str, command: str = "deploy") -> int:
    template = harness.template(BUCKET_TEMPLATE, "bucket.json")
    # The bucket template would make preflight look its name up; these scenarios are about the guard alone.
    return harness.run(
        command, "--stack-name", STACK, "--template-file", template, "--skip-preflight", *extra
    )


def _expect_policy(harness: Harness) -> None:
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})


@pytest.mark.parametrize("replacement", ["True", "Conditional"])
def test_replacing_a_bucket_is_refused_with_exit_10_naming_resource_property_and_flag(
    harness: Harness, replacement: str
) -> None:
    _update_until_review(
        harness,
        [
            entry(
                "Modify", "StaticContentBucket", "AWS::S3::Bucket", replacement, Details=bucket_name_detail()
            )
        ],
    )
    assert _deploy(harness) == ExitCode.DATA_LOSS_REFUSED
    assert harness.mutating_calls == ["CreateChangeSet"], "refused before execution; the change set is kept"
    error = harness.errors.strip()
    assert error.count("\n") == 0
    for part in (
        "StaticContentBucket",
        "BucketName",
        "--allow-replacement StaticContentBucket",
        "change set",
    ):
        assert part in error, part
    assert "deploy.py execute --stack-name app --change-set-name tap-deploy-update-x" in error


def test_plan_reports_the_same_danger_and_exits_10(harness: Harness) -> None:
    _update_until_review(harness, [entry("Modify", "StaticContentBucket", "AWS::S3::Bucket", "True")])
    report = harness.tmp / "plan.md"
    code = _deploy(harness, "--report-file", str(report), command="plan")
    assert code == ExitCode.DATA_LOSS_REFUSED
    assert harness.mutating_calls == ["CreateChangeSet"]
    assert "| `StaticContentBucket` | AWS::S3::Bucket | replacement |" in report.read_text()
    assert "DANGER replacement of StaticContentBucket" in harness.output


def test_an_allowed_replacement_opens_the_policy_for_that_resource_only_and_restores_it(
    harness: Harness,
) -> None:
    policies = harness.recorded_policies()
    _update_until_review(harness, [entry("Modify", "StaticContentBucket", "AWS::S3::Bucket", "True")])
    _expect_policy(harness)
    harness.expect_successful_execution(policy_read=False)
    _expect_policy(harness)
    assert _deploy(harness, "--allow-replacement", "StaticContentBucket") == ExitCode.SUCCESS
    assert harness.mutating_calls == [
        "CreateChangeSet",
        "SetStackPolicy",
        "ExecuteChangeSet",
        "SetStackPolicy",
    ]
    during, after = policies
    assert allows(during, "Update:Replace", "StaticContentBucket")
    assert not allows(after, "Update:Replace", "StaticContentBucket")
    assert after == default_policy(BUCKET_TEMPLATE)


def test_the_policy_is_restored_when_the_execution_fails(harness: Harness) -> None:
    policies = harness.recorded_policies()
    _update_until_review(harness, [entry("Modify", "StaticContentBucket", "AWS::S3::Bucket", "True")])
    _expect_policy(harness)
    harness.expect_events([harness.event(STACK, "CREATE_COMPLETE")])
    harness.stub.add_client_error("execute_change_set", "InsufficientCapabilitiesException", "no", 400)
    _expect_policy(harness)
    code = _deploy(harness, "--allow-replacement", "StaticContentBucket")
    assert code == ExitCode.AWS_ERROR
    assert len(policies) == 2 and not allows(policies[-1], "Update:Replace", "StaticContentBucket")


def test_an_allowance_for_another_resource_does_not_open_this_one(harness: Harness) -> None:
    _update_until_review(harness, [entry("Modify", "StaticContentBucket", "AWS::S3::Bucket", "True")])
    assert _deploy(harness, "--allow-removal", "StaticContentBucket") == ExitCode.DATA_LOSS_REFUSED
    assert harness.mutating_calls == ["CreateChangeSet"]


def test_an_allowance_that_is_not_a_logical_id_is_bad_input(harness: Harness) -> None:
    assert _deploy(harness, "--allow-replacement", "arn:aws:s3:::bucket") == ExitCode.BAD_INPUT
    assert harness.calls == []


def _execute_until_guard(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=DEV)
    harness.expect_change_set_pages(
        [[entry("Modify", "StaticContentBucket", "AWS::S3::Bucket", "True")]],
        name="tap-deploy-update-x",
        stack_name=STACK,
    )
    harness.expect_change_set_template(BUCKET_TEMPLATE)
    harness.expect_deployed_template(BUCKET_TEMPLATE)


def test_execute_by_name_applies_the_same_guard(harness: Harness) -> None:
    _execute_until_guard(harness)
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-update-x")
    assert code == ExitCode.DATA_LOSS_REFUSED
    assert harness.mutating_calls == []
    assert "--allow-replacement StaticContentBucket" in harness.errors


def test_execute_with_an_allowance_opens_the_default_policy_and_sets_it_back(harness: Harness) -> None:
    policies = harness.recorded_policies()
    _execute_until_guard(harness)
    current = default_policy(BUCKET_TEMPLATE)
    _expect_policy(harness)
    harness.expect_successful_execution(policy_read=False)
    _expect_policy(harness)
    code = harness.run(
        "execute",
        "--stack-name",
        STACK,
        "--change-set-name",
        "tap-deploy-update-x",
        "--allow-replacement",
        "StaticContentBucket",
    )
    assert code == ExitCode.SUCCESS
    assert allows(policies[0], "Update:Replace", "StaticContentBucket") and policies[1] == current
    assert harness.mutating_calls == ["SetStackPolicy", "ExecuteChangeSet", "SetStackPolicy"]


def test_an_allowed_removal_opens_the_stacks_current_policy_when_the_template_has_none(
    harness: Harness,
) -> None:
    policies = harness.recorded_policies()
    topic_only = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    previous = {"Resources": {**topic_only["Resources"], "AppLogGroup": {"Type": "AWS::Logs::LogGroup"}}}
    current = default_policy(previous)
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[entry("Remove", "AppLogGroup", "AWS::Logs::LogGroup")]])
    harness.expect_deployed_template(previous)
    harness.stub.add_response(
        "get_stack_policy", {"StackPolicyBody": json.dumps(current)}, {"StackName": STACK_ID}
    )
    _expect_policy(harness)
    harness.expect_successful_execution(policy_read=False)
    _expect_policy(harness)
    template = harness.template(topic_only, "topic.json")
    code = harness.run(
        "deploy", "--stack-name", STACK, "--template-file", template, "--allow-removal", "AppLogGroup"
    )
    assert code == ExitCode.SUCCESS
    during, after = policies
    assert allows(during, "Update:Delete", "AppLogGroup") and after == current


def test_plan_with_no_changes_still_writes_both_files(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=DEV)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error(
        "create_change_set", "ValidationError", "No updates are to be performed.", 400
    )
    report_file, json_file = harness.tmp / "r.md", harness.tmp / "r.json"
    code = _deploy(
        harness, "--report-file", str(report_file), "--changeset-file", str(json_file), command="plan"
    )
    assert code == ExitCode.SUCCESS
    assert report_file.read_text().startswith("### No changes for stack `app`")
    assert json.loads(json_file.read_text())["Summary"]["dangerous"] == 0


def test_a_failed_restore_after_a_failed_execution_warns_and_keeps_the_first_error(harness: Harness) -> None:
    _update_until_review(harness, [entry("Modify", "StaticContentBucket", "AWS::S3::Bucket", "True")])
    _expect_policy(harness)
    harness.expect_events([harness.event(STACK, "CREATE_COMPLETE")])
    harness.stub.add_client_error("execute_change_set", "InsufficientCapabilitiesException", "no", 400)
    harness.stub.add_client_error("set_stack_policy", "AccessDenied", "not allowed", 403)
    code = _deploy(harness, "--allow-replacement", "StaticContentBucket")
    assert code == ExitCode.AWS_ERROR
    assert "InsufficientCapabilitiesException" in harness.errors and "AccessDenied" not in harness.errors
    assert "WARNING: the stack policy could not be set back" in harness.output
    assert "aws cloudformation set-stack-policy --stack-name" in harness.output


def test_one_allowance_marks_only_its_own_danger_allowed_and_the_run_is_still_refused(
    harness: Harness,
) -> None:
    with_logs = {
        **BUCKET_TEMPLATE,
        "Resources": {**BUCKET_TEMPLATE["Resources"], "AppLogGroup": {"Type": "AWS::Logs::LogGroup"}},
    }
    harness.expect_stack("UPDATE_COMPLETE", Parameters=DEV)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages(
        [
            [
                entry("Modify", "StaticContentBucket", "AWS::S3::Bucket", "True"),
                entry("Remove", "AppLogGroup", "AWS::Logs::LogGroup"),
            ]
        ]
    )
    harness.expect_deployed_template(with_logs)
    code = _deploy(harness, "--allow-replacement", "StaticContentBucket", command="plan")
    assert code == ExitCode.DATA_LOSS_REFUSED
    verdicts = {
        line.split()[3]: line.rsplit(": ", 1)[1] for line in harness.output.splitlines() if "DANGER" in line
    }
    assert verdicts == {
        "StaticContentBucket": "allowed",
        "AppLogGroup": "refused unless --allow-removal AppLogGroup",
    }
    assert "--allow-removal AppLogGroup" in harness.errors and "StaticContentBucket" not in harness.errors


@pytest.mark.parametrize("command", ["plan", "execute"])
def test_a_stack_deployed_with_non_default_values_keeps_them_and_a_routine_update_is_not_refused(
    harness: Harness, command: str
) -> None:
    # The bucket's name comes from EnvironmentSuffix, deployed as "prod" (the default is "dev"): the new template
    # must be resolved with "prod" for the parameters passed as UsePreviousValue, or the bucket looks renamed.
    prod = [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "prod"}]
    previous = [{"ParameterKey": "EnvironmentSuffix", "UsePreviousValue": True}]
    topic = entry("Modify", "Topic", "AWS::SNS::Topic", "False")
    harness.expect_stack("UPDATE_COMPLETE", Parameters=prod)
    if command == "plan":
        harness.expect_no_old_change_sets()
        harness.expect_create_change_set("UPDATE", Parameters=previous)
        harness.expect_change_set_status("CREATE_COMPLETE")
        harness.expect_change_set_pages([[topic]])
        harness.expect_deployed_template(BUCKET_TEMPLATE)
        assert _deploy(harness, command="plan") == ExitCode.CHANGES_PRESENT, harness.errors
    else:
        page = harness.change_set_page("CREATE_COMPLETE", changes=[topic])
        page["Parameters"] = previous
        params = {"ChangeSetName": "tap-deploy-update-x", "StackName": STACK, "IncludePropertyValues": True}
        harness.stub.add_response("describe_change_set", page, params)
        harness.expect_change_set_template(BUCKET_TEMPLATE)
        harness.expect_deployed_template(BUCKET_TEMPLATE)
        harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
        harness.expect_successful_execution(policy_read=False)
        code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-update-x")
        assert code == ExitCode.SUCCESS, harness.errors
    assert "DANGER" not in harness.output

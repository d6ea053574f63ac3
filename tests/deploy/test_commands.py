"""Review mode, execute by name, status and delete, through the CLI against Stubber."""

from __future__ import annotations

import json

from botocore.stub import ANY

from deployer.errors import ExitCode
from tests.deploy.conftest import STACK, STACK_ID, Harness, change
from tests.deploy.test_stack_state_scenarios import PREVIOUS

CS_NAME = "tap-deploy-update-x"


def test_review_mode_prints_the_changes_writes_json_and_exits_8(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "Conditional", ["Properties", "Tags"])]])
    plan = harness.tmp / "plan.json"
    code = harness.run(*harness.deploy_args("--changeset-file", str(plan), command="plan"))
    assert code == ExitCode.CHANGES_PRESENT
    assert harness.mutating_calls == ["CreateChangeSet"]
    assert "Conditional" in harness.output and "Properties,Tags" in harness.output
    assert f"deploy.py execute --stack-name app --change-set-name {CS_NAME}" in harness.output
    written = json.loads(plan.read_text())
    assert written["ChangeSetName"] == CS_NAME
    assert written["Changes"][0]["LogicalResourceId"] == "Topic"


def test_no_execute_changeset_flag_is_the_same_review_mode(harness: Harness) -> None:
    harness.expect_stack(None)
    harness.expect_create_change_set("CREATE", Parameters=[])
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Add", "Topic")]])
    assert harness.run(*harness.deploy_args("--no-execute-changeset")) == ExitCode.CHANGES_PRESENT
    assert "ExecuteChangeSet" not in harness.calls


def test_review_mode_with_no_changes_exits_0(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error(
        "create_change_set", "ValidationError", "No updates are to be performed.", 400
    )
    assert harness.run(*harness.deploy_args(command="plan")) == ExitCode.SUCCESS


def test_execute_runs_a_reviewed_change_set_by_name_and_waits(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]], name=CS_NAME, stack_name=STACK)
    harness.expect_change_set_template()
    harness.expect_successful_execution()
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", CS_NAME)
    assert code == ExitCode.SUCCESS
    assert harness.mutating_calls == ["ExecuteChangeSet"]


def test_execute_of_an_unknown_change_set_is_bad_input(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    harness.stub.add_client_error(
        "describe_change_set", "ChangeSetNotFound", "ChangeSet [nope] does not exist", 404
    )
    assert harness.run("execute", "--stack-name", STACK, "--change-set-name", "nope") == ExitCode.BAD_INPUT
    assert harness.mutating_calls == []


def test_execute_of_an_obsolete_change_set_exits_7_and_says_to_plan_again(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_change_set_pages(
        [[change("Modify", "Topic")]], name=CS_NAME, stack_name=STACK, execution="OBSOLETE"
    )
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", CS_NAME)
    assert code == ExitCode.CHANGE_SET_FAILED
    assert "deploy.py plan" in harness.errors
    assert harness.mutating_calls == []


def test_execute_again_after_an_interrupt_resumes_waiting_instead_of_executing_twice(
    harness: Harness,
) -> None:
    harness.expect_stack("UPDATE_IN_PROGRESS")
    harness.expect_change_set_pages(
        [[change("Modify", "Topic")]], name=CS_NAME, stack_name=STACK, execution="EXECUTE_IN_PROGRESS"
    )
    old = harness.event(STACK, "UPDATE_IN_PROGRESS")
    harness.expect_events([old])
    done = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([done, old])
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)
    harness.expect_change_set_pages(
        [[change("Modify", "Topic")]], name=CS_NAME, stack_name=STACK, execution="EXECUTE_COMPLETE"
    )
    harness.expect_change_set_template()  # the executed template decides the policy the stack ends with
    harness.expect_policy_read()
    assert harness.run("execute", "--stack-name", STACK, "--change-set-name", CS_NAME) == ExitCode.SUCCESS
    assert harness.mutating_calls == []
    assert "already executed" in harness.output


def test_status_prints_state_change_sets_and_outputs_and_changes_nothing(harness: Harness) -> None:
    outputs = [{"OutputKey": "Url", "OutputValue": "http://example"}]
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS, Outputs=outputs)
    harness.stub.add_response(
        "list_change_sets",
        {
            "Summaries": [
                {
                    "StackName": STACK,
                    "ChangeSetName": CS_NAME,
                    "Status": "CREATE_COMPLETE",
                    "ExecutionStatus": "AVAILABLE",
                }
            ]
        },
        {"StackName": STACK_ID},
    )
    out = harness.tmp / "out.json"
    assert harness.run("status", "--stack-name", STACK, "--outputs-file", str(out)) == ExitCode.SUCCESS
    assert "Status: UPDATE_COMPLETE" in harness.output
    assert CS_NAME in harness.output
    assert json.loads(out.read_text()) == {"Url": "http://example"}
    assert harness.mutating_calls == []


def test_status_of_a_missing_stack_exits_2(harness: Harness) -> None:
    harness.expect_stack(None)
    assert harness.run("status", "--stack-name", STACK) == ExitCode.BAD_INPUT


def queue_delete(h: Harness, final: str = "DELETE_COMPLETE", **params: object) -> None:
    # What the delete will leave behind is read first; this stack has no resource left to list.
    h.stub.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": STACK_ID})
    old = h.event(STACK, "UPDATE_COMPLETE")
    h.expect_events([old])
    h.stub.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY, **params})
    begun = h.event(STACK, "DELETE_IN_PROGRESS")
    events = [begun, old]
    if final == "DELETE_FAILED":
        events = [
            h.event(STACK, "DELETE_FAILED"),
            h.event("Topic", "DELETE_FAILED", "Topic is in use"),
            *events,
        ]
    else:
        events = [h.event(STACK, final), *events]
    h.expect_events(events)
    h.expect_stack(final, name=STACK_ID)


def test_delete_with_yes_deletes_and_waits(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    queue_delete(harness)
    assert harness.run("delete", "--stack-name", STACK, "--yes") == ExitCode.SUCCESS
    assert harness.mutating_calls == ["DeleteStack"]
    assert "deleted" in harness.output


def test_delete_on_a_terminal_asks_for_the_stack_name(harness: Harness) -> None:
    harness.stdin_is_tty = True
    harness.confirm_answer = "other"
    harness.expect_stack("UPDATE_COMPLETE")
    assert harness.run("delete", "--stack-name", STACK) == ExitCode.BAD_INPUT
    assert harness.mutating_calls == []


def test_delete_refuses_a_termination_protected_stack_with_guidance(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", EnableTerminationProtection=True)
    assert harness.run("delete", "--stack-name", STACK, "--yes") == ExitCode.NEEDS_DECISION
    assert "--no-enable-termination-protection" in harness.errors
    assert harness.mutating_calls == []


def test_delete_of_a_missing_stack_is_success(harness: Harness) -> None:
    harness.expect_stack(None)
    assert harness.run("delete", "--stack-name", STACK, "--yes") == ExitCode.SUCCESS


def test_delete_that_fails_reports_the_resource_and_how_to_retain_it(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    queue_delete(harness, final="DELETE_FAILED")
    assert harness.run("delete", "--stack-name", STACK, "--yes") == ExitCode.STACK_FAILED
    assert "Root cause: Topic (AWS::SNS::Topic) DELETE_FAILED: Topic is in use" in harness.output
    command = "deploy.py delete --stack-name app --yes --retain-resources Topic"
    assert f"run:\n  {command}\n" in harness.output
    assert command in harness.errors and "LOGICAL_ID" not in harness.errors


def test_delete_failed_stack_can_be_deleted_again_keeping_named_resources(harness: Harness) -> None:
    harness.expect_stack("DELETE_FAILED")
    queue_delete(harness, RetainResources=["Topic"])
    code = harness.run("delete", "--stack-name", STACK, "--yes", "--retain-resources", "Topic")
    assert code == ExitCode.SUCCESS


def test_unexpected_exception_exits_1_with_a_traceback(harness: Harness) -> None:
    def broken(name: str) -> None:
        raise RuntimeError("simulated bug")

    harness.cfn.get_paginator = broken
    assert harness.run("status", "--stack-name", STACK) == ExitCode.INTERNAL_ERROR
    assert "Traceback" in harness.errors and "simulated bug" in harness.errors


def test_every_deploy_option_reaches_the_change_set_request(harness: Harness) -> None:
    params = harness.tmp / "params.json"
    params.write_text(
        json.dumps({"Parameters": {"InstanceType": "t3.small", "MinSize": "3"}, "Tags": {"Team": "web"}})
    )
    role = "arn:aws:iam::123456789012:role/deployer"
    topic = "arn:aws:sns:us-east-1:123456789012:stack-events"
    alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"
    harness.expect_stack(None)
    harness.expect_create_change_set(
        "CREATE",
        Parameters=[
            {"ParameterKey": "InstanceType", "ParameterValue": "t3.small"},
            {"ParameterKey": "MinSize", "ParameterValue": "4"},  # the override wins over the file
        ],
        Tags=[{"Key": "Owner", "Value": "ops"}, {"Key": "Team", "Value": "web"}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
        RoleARN=role,
        NotificationARNs=[topic],
        RollbackConfiguration={"RollbackTriggers": [{"Arn": alarm, "Type": "AWS::CloudWatch::Alarm"}]},
    )
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Add", "Topic")]])
    harness.expect_successful_execution(
        final="CREATE_COMPLETE", start="CREATE_IN_PROGRESS", disable_rollback=True
    )
    code = harness.run(
        *harness.deploy_args(
            "--parameters-file",
            str(params),
            "--parameter-overrides",
            "MinSize=4",
            "--tags",
            "Owner=ops",
            "--capabilities",
            "CAPABILITY_NAMED_IAM",
            "--role-arn",
            role,
            "--notification-arns",
            topic,
            "--rollback-alarm",
            alarm,
            "--disable-rollback",
        )
    )
    assert code == ExitCode.SUCCESS

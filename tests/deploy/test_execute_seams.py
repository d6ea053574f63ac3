"""The seams of an execution, against Stubber (states moto cannot produce): a rollback or a success whose policy
cannot be set back, and an ExecuteChangeSet whose answer is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY

from deployer.errors import ExitCode
from deployer.stack_policy import default_policy, opened_for, original_of
from tests.deploy.conftest import CS_ID, STACK, STACK_ID, Harness, change
from tests.deploy.test_stack_policy import allows
from tests.deploy.test_stack_state_scenarios import PREVIOUS

STATEFUL: dict[str, Any] = {
    "Resources": {
        "SiteBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "site-one"}},
        "Topic": {"Type": "AWS::SNS::Topic"},
    }
}
REPLACED = {
    "Action": "Modify",
    "LogicalResourceId": "SiteBucket",
    "ResourceType": "AWS::S3::Bucket",
    "Replacement": "True",
}


def _allowed_replacement_until_execution(harness: Harness) -> str:
    """An update that replaces the bucket, allowed: the policy is opened, then the change set executes."""
    template = harness.template(STATEFUL, "stateful.json")
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[REPLACED]])
    harness.expect_deployed_template(STATEFUL)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    return template


def _run_allowed(harness: Harness, template: str) -> int:
    return harness.run(
        "deploy",
        "--stack-name",
        STACK,
        "--template-file",
        template,
        "--skip-preflight",
        "--allow-replacement",
        "SiteBucket",
    )


def test_a_rollback_whose_policy_cannot_be_set_back_exits_3_with_the_root_cause_then_the_close_command(
    harness: Harness,
) -> None:
    policies = harness.recorded_policies()
    template = _allowed_replacement_until_execution(harness)
    old = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    failed = harness.event("SiteBucket", "UPDATE_FAILED", "site-one already exists", "AWS::S3::Bucket")
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, failed, begun, old])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    harness.stub.add_client_error("set_stack_policy", "Throttling", "Rate exceeded", 400)
    assert _run_allowed(harness, template) == ExitCode.STACK_FAILED
    assert "UPDATE_ROLLBACK_COMPLETE: SiteBucket UPDATE_FAILED" in harness.errors
    assert "in progress" not in harness.errors, "the rollback has ended: nothing is in progress"
    out = harness.output
    root_cause = out.index("Root cause: SiteBucket")
    warning = out.index("WARNING: the stack policy could not be set back")
    assert root_cause < warning
    assert "still open for SiteBucket" in out[warning:]
    command = out[warning:].split("\n")[1].strip()
    assert command.startswith(
        f"aws cloudformation set-stack-policy --stack-name {STACK_ID} --stack-policy-body "
    )
    body = json.loads(command.split("--stack-policy-body ", 1)[1].strip("'"))
    assert body == default_policy(STATEFUL), "the command sets back the policy the opening replaced"
    opened, attempted = policies
    assert allows(opened, "Update:Replace", "SiteBucket") and attempted == default_policy(STATEFUL)


def test_a_successful_execution_whose_policy_cannot_be_set_back_is_not_a_success(harness: Harness) -> None:
    template = _allowed_replacement_until_execution(harness)
    harness.expect_successful_execution(policy_read=False)
    harness.stub.add_client_error("set_stack_policy", "AccessDenied", "not allowed", 403)
    assert _run_allowed(harness, template) == ExitCode.AWS_ERROR
    assert "still open for SiteBucket" in harness.errors
    assert "set-stack-policy command printed above" in harness.errors
    assert (
        f"aws cloudformation set-stack-policy --stack-name {STACK_ID} --stack-policy-body" in harness.output
    )
    assert "in progress" not in harness.errors and "not executed" not in harness.errors
    # A refused request is not retried by running the same command (deployer/clients.py): the close command is the way.
    assert "run the same command again" not in harness.errors


# ---- ExecuteChangeSet's answer lost ------------------------------------------------------------------------------


LOST_ANSWERS = [
    lambda: ConnectionClosedError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com"),
    lambda: ReadTimeoutError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com"),
    lambda: EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com"),
]


def _lose_the_answer_to_execute(harness: Harness, make: Any) -> None:
    """The request reaches AWS (the stubbed response is consumed), then the connection drops before the answer."""

    def drop(model: Any, **_: Any) -> None:
        if model.name == "ExecuteChangeSet":
            raise make()

    harness.cfn.meta.events.register("after-call.cloudformation.ExecuteChangeSet", drop)


def _update_until_execute(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_events([harness.event(STACK, "UPDATE_COMPLETE")])
    harness.expect_execute()


@pytest.mark.parametrize("make", LOST_ANSWERS)
def test_a_lost_answer_to_execute_is_read_back_and_a_running_execution_is_waited_for(
    harness: Harness, make: Any
) -> None:
    _update_until_execute(harness)
    _lose_the_answer_to_execute(harness, make)
    harness.stub.add_response(
        "describe_change_set",
        harness.change_set_page("CREATE_COMPLETE", execution="EXECUTE_IN_PROGRESS"),
        {"ChangeSetName": CS_ID},
    )
    harness.expect_stack("UPDATE_IN_PROGRESS", name=STACK_ID)
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    done = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([done, begun])
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)
    harness.expect_policy_read()  # finished normally: the policy step runs as after any update
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert "was lost, but it did start (change set EXECUTE_IN_PROGRESS, stack UPDATE_IN_PROGRESS)" in (
        harness.output
    )
    assert "Stack app: UPDATE_COMPLETE" in harness.output
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet"], "executed once, never twice"


def test_a_lost_answer_whose_change_set_is_still_available_is_reported_as_not_executed(
    harness: Harness,
) -> None:
    _update_until_execute(harness)
    _lose_the_answer_to_execute(harness, LOST_ANSWERS[0])
    harness.expect_change_set_status("CREATE_COMPLETE", execution="AVAILABLE")
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)
    assert harness.run(*harness.deploy_args()) == ExitCode.AWS_ERROR
    assert "was created and not executed" in harness.errors
    assert "to execute it: deploy.py execute --stack-name app --change-set-name" in harness.errors


def test_a_lost_answer_whose_state_cannot_be_read_back_says_it_is_unknown(harness: Harness) -> None:
    _update_until_execute(harness)
    _lose_the_answer_to_execute(harness, LOST_ANSWERS[0])
    harness.stub.add_client_error("describe_change_set", "InternalFailure", "internal error", 500)
    assert harness.run(*harness.deploy_args()) == ExitCode.AWS_ERROR
    assert "created and not executed" not in harness.errors
    assert "may or may not have started executing" in harness.errors
    assert "deploy.py status --stack-name app" in harness.errors


def test_an_opening_left_by_a_killed_run_is_closed_after_the_next_update_without_a_policy(
    harness: Harness,
) -> None:
    # The stack's policy is an opening an earlier run made and could not close (it was killed mid-execution).
    mine = {
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "Update:*", "Resource": ["LogicalResourceId/Db"]}
        ]
    }
    left_open = opened_for(mine, ["Db"])
    policies = harness.recorded_policies()
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_successful_execution(policy_read=False)
    harness.expect_policy_read(left_open)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert policies == [mine]
    assert original_of(policies[0]) is None
    assert "Stack policy opened by an earlier run closed" in harness.output


def test_execute_resuming_an_opened_execution_that_rolled_back_closes_the_opening_and_exits_3(
    harness: Harness,
) -> None:
    # The run that executed with the policy open was killed; the execution then rolled back.
    left_open = opened_for(default_policy(STATEFUL) or {}, ["SiteBucket"])
    policies = harness.recorded_policies()
    harness.expect_stack("UPDATE_ROLLBACK_IN_PROGRESS")
    harness.expect_change_set_pages(
        [[REPLACED]], name="tap-deploy-update-x", stack_name=STACK, execution="EXECUTE_IN_PROGRESS"
    )
    rolling = harness.event(STACK, "UPDATE_ROLLBACK_IN_PROGRESS", "Resource update cancelled")
    harness.expect_events([rolling])
    failed = harness.event("SiteBucket", "UPDATE_FAILED", "site-one already exists", "AWS::S3::Bucket")
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, failed, rolling])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    harness.expect_policy_read(left_open)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-update-x")
    assert code == ExitCode.STACK_FAILED
    assert "SiteBucket UPDATE_FAILED" in harness.errors
    assert policies == [default_policy(STATEFUL)]
    assert "Stack policy opened by an earlier run closed" in harness.output


def _expect_a_rollback_waited_out(harness: Harness) -> None:
    """A run that finds the stack rolling back waits it out, then reads the events for a root cause (none)."""
    harness.expect_stack("UPDATE_ROLLBACK_IN_PROGRESS")
    rolling = harness.event(STACK, "UPDATE_ROLLBACK_IN_PROGRESS")
    harness.expect_events([rolling])
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, rolling])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    harness.expect_events([done, rolling])  # the root-cause read: no failed resource among the new events


def test_deploy_waiting_out_an_opened_execution_that_rolled_back_closes_the_opening(harness: Harness) -> None:
    left_open = opened_for(default_policy(STATEFUL) or {}, ["SiteBucket"])
    policies = harness.recorded_policies()
    _expect_a_rollback_waited_out(harness)
    harness.expect_policy_read(left_open)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    assert harness.run(*harness.deploy_args()) == ExitCode.STACK_FAILED
    assert policies == [default_policy(STATEFUL)]


def test_plan_waiting_out_a_rollback_changes_nothing_on_the_stack(harness: Harness) -> None:
    _expect_a_rollback_waited_out(harness)
    assert harness.run(*harness.deploy_args(command="plan")) == ExitCode.STACK_FAILED
    assert "GetStackPolicy" not in harness.calls and harness.mutating_calls == []


def test_execute_again_after_a_timed_out_create_waits_then_sets_the_default_policy(harness: Harness) -> None:
    # The first execute exited 4 while the stack was being created; the printed command runs it again.
    policies = harness.recorded_policies()
    harness.expect_stack("CREATE_IN_PROGRESS")
    adds = [change("Add", "SiteBucket"), change("Add", "Topic")]
    harness.expect_change_set_pages(
        [adds], name="tap-deploy-create-x", stack_name=STACK, execution="EXECUTE_IN_PROGRESS"
    )
    begun = harness.event(STACK, "CREATE_IN_PROGRESS", "User Initiated")
    harness.expect_events([begun])
    done = harness.event(STACK, "CREATE_COMPLETE")
    harness.expect_events([done, begun])
    harness.expect_stack("CREATE_COMPLETE", name=STACK_ID)
    harness.expect_change_set_pages(
        [adds], name="tap-deploy-create-x", stack_name=STACK, execution="EXECUTE_COMPLETE"
    )
    harness.expect_change_set_template(STATEFUL)
    harness.stub.add_response("set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": ANY})
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-create-x")
    assert code == ExitCode.SUCCESS
    assert "already executed" in harness.output
    assert harness.mutating_calls == ["SetStackPolicy"], "executed once, by the first run"
    assert policies == [default_policy(STATEFUL)]

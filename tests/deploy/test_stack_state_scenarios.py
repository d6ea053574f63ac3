"""Every stack state through the real CLI against Stubber: what is called, in what order, what is printed, exit code."""

from __future__ import annotations

import pytest
from botocore.stub import ANY

from deployer.changeset import new_change_set_name
from deployer.errors import ExitCode
from deployer.states import FAILED_CREATE, IN_PROGRESS, UPDATABLE
from tests.deploy.conftest import STACK, STACK_ID, Harness, change

PREVIOUS = [
    {"ParameterKey": "EnvironmentSuffix", "ParameterValue": "dev"},
    {"ParameterKey": "InstanceType", "ParameterValue": "t3.micro"},
    {"ParameterKey": "MinSize", "ParameterValue": "2"},
]
KEEP_ALL = [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True} for p in PREVIOUS]


def queue_update(h: Harness, final: str = "UPDATE_COMPLETE") -> None:
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE", Parameters=KEEP_ALL)
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "False", ["Properties"])]])
    h.expect_successful_execution(final=final)


def queue_create(h: Harness) -> None:
    h.expect_create_change_set("CREATE", Parameters=[])
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Add", "Topic"), change("Add", "Queue")]])
    h.expect_successful_execution(final="CREATE_COMPLETE", start="CREATE_IN_PROGRESS")


def queue_history(h: Harness, failing_status: str = "CREATE_FAILED") -> None:
    """The events DescribeStackEvents returns for the last (failed) operation, newest first."""
    start = h.event(STACK, "CREATE_IN_PROGRESS", "User Initiated")
    bad = h.event("Topic", failing_status, "Topic alerts-dev already exists")
    cancelled = h.event("Queue", "CREATE_FAILED", "Resource creation cancelled", "AWS::SQS::Queue")
    end = h.event(STACK, "ROLLBACK_COMPLETE")
    h.expect_events([end, cancelled, bad, start])


def test_a_missing_stack_is_created_through_a_create_change_set(harness: Harness) -> None:
    harness.expect_stack(None)
    queue_create(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet"]
    assert "does not exist -> create" in harness.output
    assert "CREATE_COMPLETE" in harness.output


def test_review_in_progress_stack_gets_a_create_change_set_again_after_its_failed_one_is_removed(
    harness: Harness,
) -> None:
    # A first CREATE change set that failed (a template error) leaves the stack REVIEW_IN_PROGRESS.
    failed = {
        "StackName": STACK,
        "ChangeSetId": "cs-failed-create",
        "ChangeSetName": new_change_set_name("CREATE"),
        "Status": "FAILED",
    }
    harness.expect_stack("REVIEW_IN_PROGRESS")
    harness.stub.add_response("list_change_sets", {"Summaries": [failed]}, {"StackName": STACK})
    harness.stub.add_response("delete_change_set", {}, {"ChangeSetName": "cs-failed-create"})
    queue_create(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert "REVIEW_IN_PROGRESS -> create" in harness.output
    assert harness.mutating_calls == ["DeleteChangeSet", "CreateChangeSet", "ExecuteChangeSet"]


@pytest.mark.parametrize("status", sorted(UPDATABLE))
def test_complete_stack_is_updated_and_unset_parameters_keep_previous_values(
    harness: Harness, status: str
) -> None:
    harness.expect_stack(status, Parameters=PREVIOUS)
    queue_update(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert harness.calls == [
        "DescribeStacks",
        "ListChangeSets",
        "CreateChangeSet",
        "DescribeChangeSet",
        "DescribeChangeSet",
        "DescribeStackEvents",
        "ExecuteChangeSet",
        "DescribeStackEvents",  # the start event: no DescribeStacks until the stack's own end event
        "DescribeStackEvents",  # the end event: the operation's last, so no read after DescribeStacks
        "DescribeStacks",
        "GetStackPolicy",  # no policy of its own: an opening an earlier run left would be closed
    ]
    assert "Modify   Topic" in harness.output


def test_update_sends_given_values_keeps_old_ones_and_new_parameters_take_their_default(
    harness: Harness,
) -> None:
    # The deployed stack predates MinSize: it is not sent at all, so CloudFormation applies its default.
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS[:2])
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set(
        "UPDATE",
        Parameters=[
            {"ParameterKey": "EnvironmentSuffix", "UsePreviousValue": True},
            {"ParameterKey": "InstanceType", "ParameterValue": "t3.small"},
        ],
    )
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args("--parameter-overrides", "InstanceType=t3.small")) == 0


@pytest.mark.parametrize("status", sorted(FAILED_CREATE))
def test_failed_first_create_stops_with_the_command_that_replaces_it(harness: Harness, status: str) -> None:
    harness.expect_stack(status)
    queue_history(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.NEEDS_DECISION
    assert harness.mutating_calls == []
    assert "--replace-failed-stack" in harness.errors
    assert "deploy.py deploy --stack-name app --template-file" in harness.errors
    assert (
        "Root cause: Topic (AWS::SNS::Topic) CREATE_FAILED: Topic alerts-dev already exists" in harness.output
    )


@pytest.mark.parametrize("status", sorted(FAILED_CREATE))
def test_failed_first_create_is_deleted_and_created_again_with_the_flag(
    harness: Harness, status: str
) -> None:
    harness.expect_stack(status)
    old = harness.event(STACK, status)
    harness.expect_events([old])
    harness.stub.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY})
    gone = harness.event(STACK, "DELETE_COMPLETE")
    harness.expect_events([gone, old])
    harness.expect_stack("DELETE_COMPLETE", name=STACK_ID)
    harness.expect_stack(None)
    queue_create(harness)
    assert harness.run(*harness.deploy_args("--replace-failed-stack")) == ExitCode.SUCCESS
    assert harness.mutating_calls == ["DeleteStack", "CreateChangeSet", "ExecuteChangeSet"]


def test_update_rollback_failed_stops_with_the_continue_command(harness: Harness) -> None:
    harness.expect_stack("UPDATE_ROLLBACK_FAILED")
    queue_history(harness, failing_status="UPDATE_FAILED")
    assert harness.run(*harness.deploy_args()) == ExitCode.NEEDS_DECISION
    assert harness.mutating_calls == []
    assert "--continue-update-rollback" in harness.errors


def test_update_rollback_failed_is_continued_skipping_named_resources_then_updated(harness: Harness) -> None:
    harness.expect_stack("UPDATE_ROLLBACK_FAILED", Parameters=PREVIOUS)
    old = harness.event(STACK, "UPDATE_ROLLBACK_FAILED")
    harness.expect_events([old])
    harness.stub.add_response(
        "continue_update_rollback",
        {},
        {"StackName": STACK_ID, "ClientRequestToken": ANY, "ResourcesToSkip": ["Queue"]},
    )
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, old])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", Parameters=PREVIOUS)
    queue_update(harness)
    code = harness.run(*harness.deploy_args("--continue-update-rollback", "--skip-resources", "Queue"))
    assert code == ExitCode.SUCCESS
    assert harness.mutating_calls == ["ContinueUpdateRollback", "CreateChangeSet", "ExecuteChangeSet"]


@pytest.mark.parametrize("status", sorted(IN_PROGRESS - {"DELETE_IN_PROGRESS"}))
def test_operation_in_progress_is_waited_for_then_the_deploy_continues(harness: Harness, status: str) -> None:
    settled = "UPDATE_COMPLETE"
    harness.expect_stack(status, Parameters=PREVIOUS)
    old = harness.event(STACK, status)
    harness.expect_events([old])
    harness.expect_events([old])  # first tick: nothing new yet
    harness.expect_stack(status, name=STACK_ID)
    done = harness.event(STACK, settled)
    harness.expect_events([done, old])
    harness.expect_stack(settled, name=STACK_ID)
    harness.expect_stack(settled, Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error(
        "create_change_set", "ValidationError", "No updates are to be performed.", 400
    )
    harness.expect_policy_read()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert harness.mutating_calls == ["CreateChangeSet"]
    assert "Waiting for the running operation" in harness.output
    assert "No changes" in harness.output


def test_delete_in_progress_is_waited_for_then_the_stack_is_created(harness: Harness) -> None:
    harness.expect_stack("DELETE_IN_PROGRESS")
    old = harness.event(STACK, "DELETE_IN_PROGRESS")
    harness.expect_events([old])
    done = harness.event(STACK, "DELETE_COMPLETE")
    harness.expect_events([done, old])
    harness.expect_stack("DELETE_COMPLETE", name=STACK_ID)
    harness.expect_stack(None)
    queue_create(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS


def test_operation_in_progress_that_rolls_back_reports_its_root_cause(harness: Harness) -> None:
    harness.expect_stack("UPDATE_ROLLBACK_IN_PROGRESS")
    old = harness.event(STACK, "UPDATE_ROLLBACK_IN_PROGRESS")
    harness.expect_events([old])
    bad = harness.event("Topic", "UPDATE_FAILED", "Client.InvalidKMSKey.InvalidState")
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, bad, old])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    harness.expect_policy_read()  # the run that started it may have been killed with the policy open
    assert harness.run(*harness.deploy_args()) == ExitCode.STACK_FAILED
    assert "Root cause: Topic (AWS::SNS::Topic) UPDATE_FAILED" in harness.output
    assert "Auto Scaling" in harness.output  # the KMS hint
    assert harness.mutating_calls == []


def test_delete_failed_stops_and_prints_the_delete_command_with_the_resources_that_failed(
    harness: Harness,
) -> None:
    harness.expect_stack("DELETE_FAILED")
    start = harness.event(STACK, "DELETE_IN_PROGRESS", "User Initiated")
    bucket = harness.event(
        "LogBucket", "DELETE_FAILED", "The bucket you tried to delete is not empty", "AWS::S3::Bucket"
    )
    group = harness.event("AppLogs", "DELETE_FAILED", "Log group in use", "AWS::Logs::LogGroup")
    topic = harness.event("Topic", "DELETE_COMPLETE")
    end = harness.event(
        STACK, "DELETE_FAILED", "The following resource(s) failed to delete: [LogBucket, AppLogs]"
    )
    harness.expect_events([end, topic, group, bucket, start])
    code = harness.run(*harness.deploy_args("--replace-failed-stack", "--region", "eu-west-1"))
    assert code == ExitCode.NEEDS_DECISION
    assert harness.mutating_calls == []
    command = (
        "deploy.py delete --stack-name app --yes --retain-resources LogBucket AppLogs --region eu-west-1"
    )
    assert command in harness.output
    assert f"hint: run: {command}" in harness.errors


def test_unknown_status_stops_and_changes_nothing(harness: Harness) -> None:
    harness.expect_stack("SOMETHING_NEW_IN_2030")
    assert harness.run(*harness.deploy_args()) == ExitCode.NEEDS_DECISION
    assert harness.mutating_calls == []
    assert "refusing to guess" in harness.errors


def test_a_continued_rollback_that_fails_again_is_a_stack_failure_with_the_skip_command(
    harness: Harness,
) -> None:
    harness.expect_stack("UPDATE_ROLLBACK_FAILED", Parameters=PREVIOUS)
    old = harness.event(STACK, "UPDATE_ROLLBACK_FAILED")
    harness.expect_events([old])
    harness.stub.add_response(
        "continue_update_rollback", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY}
    )
    begun = harness.event(STACK, "UPDATE_ROLLBACK_IN_PROGRESS")
    stuck = harness.event("Queue", "UPDATE_FAILED", "Queue cannot be restored", "AWS::SQS::Queue")
    done = harness.event(STACK, "UPDATE_ROLLBACK_FAILED")
    harness.expect_events([done, stuck, begun, old])
    harness.expect_stack("UPDATE_ROLLBACK_FAILED", name=STACK_ID)
    code = harness.run(*harness.deploy_args("--continue-update-rollback"))
    assert code == ExitCode.STACK_FAILED
    assert harness.mutating_calls == ["ContinueUpdateRollback"]  # no change set on a stack still stuck
    assert "ended UPDATE_ROLLBACK_FAILED: Queue UPDATE_FAILED" in harness.errors
    assert "--skip-resources ID" in harness.errors

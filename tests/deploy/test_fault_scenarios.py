"""Faults: throttling, 5xx, change sets that fail, failed updates, pagination, timeouts and interrupts."""

from __future__ import annotations

import re

import pytest

from deployer.changeset import new_change_set_name
from deployer.errors import ExitCode
from tests.deploy.conftest import CS_ID, STACK, STACK_ID, Harness, change
from tests.deploy.test_stack_state_scenarios import PREVIOUS


def start_update(h: Harness) -> None:
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE")


def throttle(h: Harness, operation: str, times: int) -> None:
    for _ in range(times):
        h.stub.add_client_error(operation, "Throttling", "Rate exceeded", 400)


def test_throttling_burst_while_polling_slows_the_loop_and_the_deploy_succeeds(harness: Harness) -> None:
    start_update(harness)
    harness.expect_change_set_status("CREATE_IN_PROGRESS")
    throttle(harness, "describe_change_set", 3)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args(), "--poll-interval", "1", "--max-poll-interval", "4") == 0
    # The first wait and one normal interval, then three growing back-offs, each announced on one line.
    slowdowns = harness.clock.sleeps[2:5]
    assert slowdowns == sorted(slowdowns) and slowdowns[0] > harness.clock.sleeps[1]
    notices = [line for line in harness.output.splitlines() if line.startswith("Slowing down:")]
    assert len(notices) == 3
    assert "AWS is throttling (Throttling: Rate exceeded)" in notices[0]
    assert f"again in {slowdowns[0]:.0f}s (attempt 1 of 6)" in notices[0]


def test_throttling_in_the_stack_wait_loop_does_not_fail_the_deploy(harness: Harness) -> None:
    start_update(harness)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    old = harness.event(STACK, "CREATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    throttle(harness, "describe_stack_events", 4)
    done = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([done, old])
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)
    harness.expect_policy_read()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS


def test_throttling_that_outlasts_the_retries_is_an_aws_error_not_a_stack_failure(harness: Harness) -> None:
    start_update(harness)
    throttle(harness, "describe_change_set", 7)
    assert harness.run(*harness.deploy_args()) == ExitCode.AWS_ERROR
    assert "Throttling" in harness.errors and "--retry-mode adaptive" in harness.errors


def test_server_errors_on_a_mutating_call_are_an_aws_error(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error(
        "create_change_set", "InternalFailure", "We encountered an internal error", 500
    )
    assert harness.run(*harness.deploy_args()) == ExitCode.AWS_ERROR
    assert "InternalFailure" in harness.errors


def test_server_errors_while_polling_are_retried_by_the_loop(harness: Harness) -> None:
    start_update(harness)
    for _ in range(2):
        harness.stub.add_client_error("describe_change_set", "InternalFailure", "internal error", 503)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS


def test_change_set_failing_for_another_reason_exits_7_with_the_reason(harness: Harness) -> None:
    start_update(harness)
    reason = "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    harness.expect_change_set_status("FAILED", reason, execution="UNAVAILABLE")
    assert harness.run(*harness.deploy_args()) == ExitCode.CHANGE_SET_FAILED
    assert reason in harness.errors
    assert "--capabilities" in harness.errors  # the hint
    assert "ExecuteChangeSet" not in harness.calls and "DeleteChangeSet" not in harness.calls


def test_failed_update_reports_the_first_real_failure_not_the_cancellations(harness: Harness) -> None:
    start_update(harness)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "True")]])
    old = harness.event(STACK, "CREATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    bucket = harness.event(
        "Bucket", "UPDATE_FAILED", "Bucket name should not contain uppercase characters", "AWS::S3::Bucket"
    )
    cancelled = harness.event("Queue", "UPDATE_FAILED", "Resource update cancelled", "AWS::SQS::Queue")
    rolling = harness.event(
        STACK, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update"
    )
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    history = [done, rolling, cancelled, bucket, begun, old]
    harness.expect_events(history)
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    assert harness.run(*harness.deploy_args()) == ExitCode.STACK_FAILED
    assert (
        "Root cause: Bucket (AWS::S3::Bucket) UPDATE_FAILED: Bucket name should not contain" in harness.output
    )
    assert "lower-case" in harness.output  # the bucket-name hint
    assert "UPDATE_ROLLBACK_COMPLETE" in harness.errors


def test_events_over_several_pages_are_all_printed_and_paging_stops_at_the_last_seen(
    harness: Harness,
) -> None:
    start_update(harness)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    old = harness.event(STACK, "CREATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    resources = [harness.event(f"Res{i}", "UPDATE_COMPLETE") for i in range(5)]
    done = harness.event(STACK, "UPDATE_COMPLETE")
    newest_first = [done, *reversed(resources), begun]
    harness.expect_events(newest_first[:3], next_token="t1")
    harness.expect_events(newest_first[3:], next_token="t2", token="t1")
    harness.expect_events([old], next_token="t3", token="t2")  # the primed event: paging stops, t3 never read
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)
    harness.expect_policy_read()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    printed = [line.split()[3] for line in harness.output.splitlines() if line.startswith("2024-")]
    assert printed == [STACK, "Res0", "Res1", "Res2", "Res3", "Res4", STACK]


def test_change_sets_over_several_pages_are_all_printed(harness: Harness) -> None:
    start_update(harness)
    harness.expect_change_set_status("CREATE_COMPLETE")
    pages = [
        [change("Modify", f"Res{page}{i}", "Conditional", ["Properties"]) for i in range(3)]
        for page in range(3)
    ]
    harness.expect_change_set_pages(pages)
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert "9 resource change(s)" in harness.output
    assert all(f"Res{p}{i}" in harness.output for p in range(3) for i in range(3))


def test_timeout_is_its_own_exit_code_and_leaves_the_stack_alone(harness: Harness) -> None:
    start_update(harness)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    old = harness.event(STACK, "CREATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS")
    harness.expect_events([begun, old])
    harness.expect_events([begun, old])
    code = harness.run(
        *harness.deploy_args(), "--timeout", "25s", "--poll-interval", "10", "--max-poll-interval", "10"
    )
    assert code == ExitCode.TIMED_OUT
    assert "timed out after 25s waiting for stack app (last status: UPDATE_IN_PROGRESS)" in harness.errors
    assert "arn:" not in harness.errors
    assert "run the same command again" in harness.errors
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet"]


def test_ctrl_c_while_waiting_leaves_the_stack_alone_and_says_how_to_resume(harness: Harness) -> None:
    start_update(harness)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    harness.clock.sleep = interrupt  # type: ignore[method-assign]
    assert harness.run(*harness.deploy_args()) == ExitCode.INTERRUPTED
    assert "left alone" in harness.errors
    assert re.search(
        r"change set tap-deploy-update-[0-9a-f]{32} was created and not executed", harness.errors
    )
    assert re.search(
        r"to execute it: deploy.py execute --stack-name app --change-set-name tap-deploy-update-[0-9a-f]{32}\n",
        harness.errors,
    )
    assert "deploy.py deploy --stack-name app" in harness.errors
    assert "DeleteStack" not in harness.calls and "DeleteChangeSet" not in harness.calls


@pytest.mark.parametrize(
    "reason",
    [
        "The submitted information didn't contain changes. Submit different information to create a change set.",
        "No updates are to be performed.",
    ],
)
def test_empty_change_set_in_either_wording_is_success_and_is_deleted(harness: Harness, reason: str) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    if reason.startswith("No updates"):
        harness.stub.add_client_error("create_change_set", "ValidationError", reason, 400)
    else:
        harness.expect_create_change_set("UPDATE")
        harness.expect_change_set_status("FAILED", reason, execution="UNAVAILABLE")
        harness.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    harness.expect_policy_read()  # an earlier run may have left the policy open
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert "No changes" in harness.output
    assert "ExecuteChangeSet" not in harness.calls


def test_empty_change_set_with_fail_on_empty_changeset_exits_9(harness: Harness) -> None:
    start_update(harness)
    harness.expect_change_set_status(
        "FAILED", "The submitted information didn't contain changes.", "UNAVAILABLE"
    )
    harness.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    harness.expect_policy_read()
    assert harness.run(*harness.deploy_args("--fail-on-empty-changeset")) == ExitCode.EMPTY_CHANGE_SET


def summary(change_set_id: str, name: str, status: str, execution: str = "UNAVAILABLE") -> dict[str, str]:
    return {
        "StackName": STACK,
        "ChangeSetId": change_set_id,
        "ChangeSetName": name,
        "Status": status,
        "ExecutionStatus": execution,
    }


def test_old_failed_change_sets_of_this_tool_are_cleaned_up_and_others_are_not(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    page_one = [
        summary("cs-ours-failed", new_change_set_name("UPDATE"), "FAILED"),
        summary("cs-theirs", "manual-fix", "FAILED"),
    ]
    page_two = [
        summary("cs-ours-executed", new_change_set_name("UPDATE"), "CREATE_COMPLETE", "EXECUTE_COMPLETE"),
        # Our prefix, but not a name this tool makes: someone else's, never touched.
        summary("cs-lookalike", "tap-deploy-hotfix", "FAILED"),
        summary("cs-lookalike-2", new_change_set_name("CREATE") + "-mine", "FAILED"),
        summary("cs-lookalike-3", "x-" + new_change_set_name("UPDATE"), "CREATE_COMPLETE", "AVAILABLE"),
        summary("cs-ours-failed-2", new_change_set_name("CREATE"), "FAILED"),
    ]
    harness.stub.add_response(
        "list_change_sets", {"Summaries": page_one, "NextToken": "n"}, {"StackName": STACK}
    )
    harness.stub.add_response(
        "list_change_sets", {"Summaries": page_two}, {"StackName": STACK, "NextToken": "n"}
    )
    harness.stub.add_response("delete_change_set", {}, {"ChangeSetName": "cs-ours-failed"})
    # Removed meanwhile by a parallel run: gone is what the cleanup wanted, not a reason to fail the deploy.
    harness.stub.add_client_error(
        "delete_change_set",
        "ChangeSetNotFound",
        "ChangeSet [cs-ours-failed-2] does not exist",
        404,
        expected_params={"ChangeSetName": "cs-ours-failed-2"},
    )
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert harness.mutating_calls == [
        "DeleteChangeSet",
        "DeleteChangeSet",
        "CreateChangeSet",
        "ExecuteChangeSet",
    ]
    assert "Removed 1 failed (or over 24 h old) change set(s)" in harness.output


def test_success_writes_outputs_file(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    queue_update_with_outputs(harness)
    path = harness.tmp / "outputs.json"
    assert harness.run(*harness.deploy_args("--outputs-file", str(path))) == ExitCode.SUCCESS
    assert path.read_text() == '{\n  "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts-dev"\n}\n'
    assert "TopicArn = arn:aws:sns" in harness.output


def queue_update_with_outputs(h: Harness) -> None:
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE")
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    h.expect_successful_execution(
        outputs=[{"OutputKey": "TopicArn", "OutputValue": "arn:aws:sns:us-east-1:123456789012:alerts-dev"}]
    )


def test_termination_protection_and_stack_policy_are_applied_around_an_update(harness: Harness) -> None:
    policy = harness.tmp / "policy.json"
    policy.write_text(
        '{"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}'
    )
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.stub.add_response(
        "set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": policy.read_text()}
    )
    queue_execution_then(
        harness,
        "update_termination_protection",
        {"StackName": STACK_ID, "EnableTerminationProtection": True},
        policy_read=False,
    )
    args = harness.deploy_args("--termination-protection", "--stack-policy-file", str(policy))
    assert harness.run(*args) == ExitCode.SUCCESS
    assert harness.mutating_calls == [
        "CreateChangeSet",
        "SetStackPolicy",
        "ExecuteChangeSet",
        "UpdateTerminationProtection",
    ]


def queue_execution_then(h: Harness, operation: str, params: dict, *, policy_read: bool = True) -> None:
    """The standard successful execution, then one more call made once the stack has settled."""
    h.expect_successful_execution(policy_read=policy_read)
    h.stub.add_response(operation, {"StackId": STACK_ID}, params)


def test_no_changes_still_prints_and_writes_the_outputs_for_later_ci_steps(harness: Harness) -> None:
    outputs = [{"OutputKey": "Url", "OutputValue": "http://example"}]
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS, Outputs=outputs)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error(
        "create_change_set", "ValidationError", "No updates are to be performed.", 400
    )
    harness.expect_policy_read()
    path = harness.tmp / "outputs.json"
    assert harness.run(*harness.deploy_args("--outputs-file", str(path))) == ExitCode.SUCCESS
    assert path.read_text() == '{\n  "Url": "http://example"\n}\n'


def test_execute_failing_after_the_retries_names_the_change_set_and_prints_the_execute_command(
    harness: Harness,
) -> None:
    start_update(harness)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_events([harness.event(STACK, "UPDATE_COMPLETE")])
    harness.stub.add_client_error("execute_change_set", "InternalFailure", "internal error", 500)
    # A server error does not say the request was not carried out: the state is read back before saying so.
    harness.expect_change_set_status("CREATE_COMPLETE", execution="AVAILABLE")
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)
    assert harness.run(*harness.deploy_args()) == ExitCode.AWS_ERROR
    assert "error: AWS error while executing change set tap-deploy-update-x on stack app" in harness.errors
    assert (
        "change set tap-deploy-update-" in harness.errors and "was created and not executed" in harness.errors
    )
    assert re.search(
        r"to execute it: deploy.py execute --stack-name app --change-set-name tap-deploy-update-[0-9a-f]{32}\n",
        harness.errors,
    )


def test_a_plan_leaves_earlier_unexecuted_change_sets_for_their_execute_commands(harness: Harness) -> None:
    ours = summary("cs-ours-available", new_change_set_name("UPDATE"), "CREATE_COMPLETE", "AVAILABLE")
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.stub.add_response("list_change_sets", {"Summaries": [ours]}, {"StackName": STACK})
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    assert harness.run(*harness.deploy_args(command="plan")) == ExitCode.CHANGES_PRESENT
    assert harness.mutating_calls == ["CreateChangeSet"]

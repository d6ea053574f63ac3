"""The wait loop against what real CloudFormation does: stale reads, old events, interrupts, odd change-set states."""

from __future__ import annotations

from deployer.errors import ExitCode
from deployer.events import EventReader
from tests.deploy.conftest import STACK, STACK_ID, Harness, change
from tests.deploy.test_stack_state_scenarios import PREVIOUS


def start_update(h: Harness) -> None:
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE")
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "False")]])


def test_a_stale_settled_status_just_after_execute_does_not_end_the_wait(harness: Harness) -> None:
    # Just after ExecuteChangeSet, DescribeStacks can still answer with the previous operation's final status.
    start_update(harness)
    old = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    # Polls every 5 s from t=10 (after the change set's wait): nothing new for a minute, then the safety check
    # reads DescribeStacks, which can still answer with the previous update's final status.
    for _ in range(13):
        harness.expect_events([old])
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)  # stale
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    harness.expect_events([begun, old])
    failed = harness.event("Topic", "UPDATE_FAILED", "Topic policy is invalid")
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, failed, begun, old])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    # Stopping at the stale UPDATE_COMPLETE would have reported success for an update that rolled back.
    five_seconds = ("--poll-interval", "5", "--max-poll-interval", "5")
    assert harness.run(*harness.deploy_args(*five_seconds)) == ExitCode.STACK_FAILED
    assert "Root cause: Topic (AWS::SNS::Topic) UPDATE_FAILED: Topic policy is invalid" in harness.output


def test_events_of_the_previous_operation_are_never_printed_or_blamed(harness: Harness) -> None:
    start_update(harness)
    # History before this run: an earlier update whose Bucket failed, then a successful fix.
    earlier_start = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    earlier_failure = harness.event("Bucket", "UPDATE_FAILED", "old failure", "AWS::S3::Bucket")
    earlier_end = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    history = [earlier_end, earlier_failure, earlier_start]
    harness.expect_events(history)
    harness.expect_execute()
    # This update fails at stack level only (no resource event says FAILED).
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    rolling = harness.event(STACK, "UPDATE_ROLLBACK_IN_PROGRESS", "Parameter validation failed")
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    now = [done, rolling, begun]
    harness.expect_events([*now, *history])
    harness.expect_stack(
        "UPDATE_ROLLBACK_COMPLETE", name=STACK_ID, StackStatusReason="Parameter validation failed"
    )
    harness.expect_events([*now, *history])  # the root-cause read: back to this operation's start only
    assert harness.run(*harness.deploy_args()) == ExitCode.STACK_FAILED
    assert "old failure" not in harness.output + harness.errors
    assert "Bucket" not in harness.output + harness.errors
    assert "Parameter validation failed" in harness.errors


def test_ctrl_c_while_waiting_for_the_stack_leaves_it_alone_and_says_how_to_resume(harness: Harness) -> None:
    start_update(harness)
    old = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    harness.expect_events([begun, old])
    sleep = harness.clock.sleep

    def interrupt_once_running(seconds: float) -> None:
        if harness.calls.count("DescribeStackEvents") >= 2:  # the operation's first event was read
            raise KeyboardInterrupt
        sleep(seconds)

    harness.clock.sleep = interrupt_once_running  # type: ignore[method-assign]
    assert harness.run(*harness.deploy_args()) == ExitCode.INTERRUPTED
    assert "the stack operation is in progress" in harness.errors
    assert harness.mutating_calls == [
        "CreateChangeSet",
        "ExecuteChangeSet",
    ]  # no cancel, no rollback, no delete
    assert "left alone" in harness.errors and "keeps running" in harness.errors
    assert "not executed" not in harness.errors
    assert "run the same command again: deploy.py deploy --stack-name app" in harness.errors


def test_event_reader_that_saw_no_event_before_reads_every_new_page(harness: Harness) -> None:
    first, second = harness.event(STACK, "CREATE_IN_PROGRESS"), harness.event("Topic", "CREATE_IN_PROGRESS")
    harness.expect_events([])
    harness.expect_events([second], next_token="t1")
    harness.expect_events([first], token="t1")
    with harness.stub:
        reader = EventReader(harness.cfn, STACK_ID)
        reader.prime()
        assert [e["EventId"] for e in reader.new_events()] == [first["EventId"], second["EventId"]]
        harness.stub.assert_no_pending_responses()


def test_change_set_deleted_while_being_created_exits_7_instead_of_waiting_forever(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_IN_PROGRESS")
    harness.expect_change_set_status("DELETE_COMPLETE", execution="UNAVAILABLE")
    assert harness.run(*harness.deploy_args()) == ExitCode.CHANGE_SET_FAILED
    assert "DELETE_COMPLETE" in harness.errors
    assert harness.mutating_calls == ["CreateChangeSet"]

"""Two runs on one stack: a run never deletes a change set that another run may still show or execute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deployer.changeset import STALE_AFTER, is_stale, new_change_set_name
from deployer.errors import ExitCode
from tests.deploy.conftest import STACK, Harness, change
from tests.deploy.test_stack_state_scenarios import PREVIOUS

pytestmark = pytest.mark.deploy

NOW = datetime.now(UTC)


def ours(
    change_set_id: str, age: timedelta, status: str = "CREATE_COMPLETE", execution: str = "AVAILABLE"
) -> Any:
    return {
        "StackName": STACK,
        "ChangeSetId": change_set_id,
        "ChangeSetName": new_change_set_name("UPDATE"),
        "Status": status,
        "ExecutionStatus": execution,
        "CreationTime": NOW - age,
    }


def queue_update(h: Harness, summaries: list[dict[str, Any]], deleted: list[str]) -> None:
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.stub.add_response("list_change_sets", {"Summaries": summaries}, {"StackName": STACK})
    for change_set_id in deleted:
        h.stub.add_response("delete_change_set", {}, {"ChangeSetName": change_set_id})
    h.expect_create_change_set("UPDATE")
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    h.expect_successful_execution()


def test_a_deploy_leaves_another_runs_recent_unexecuted_change_set_alone(harness: Harness) -> None:
    # A terminal run created this one a minute ago and is asking whether to execute it; CI deploys meanwhile.
    queue_update(harness, [ours("cs-at-the-prompt", timedelta(minutes=1))], deleted=[])
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet"]


def test_a_deploy_removes_our_failed_and_our_day_old_change_sets(harness: Harness) -> None:
    summaries = [
        ours("cs-failed-just-now", timedelta(minutes=1), status="FAILED", execution="UNAVAILABLE"),
        ours("cs-forgotten", STALE_AFTER + timedelta(minutes=1)),
        ours("cs-almost-a-day", STALE_AFTER - timedelta(minutes=10)),
    ]
    queue_update(harness, summaries, deleted=["cs-failed-just-now", "cs-forgotten"])
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert harness.mutating_calls == [
        "DeleteChangeSet",
        "DeleteChangeSet",
        "CreateChangeSet",
        "ExecuteChangeSet",
    ]
    assert "Removed 2 failed (or over 24 h old) change set(s)" in harness.output


@pytest.mark.parametrize("execution", ["EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE"])
def test_a_change_set_that_ran_is_never_stale_however_old(execution: str) -> None:
    assert not is_stale(ours("cs", timedelta(days=30), execution=execution), NOW)


def test_an_unexecuted_change_set_of_ours_is_stale_after_a_day() -> None:
    assert is_stale(ours("cs", timedelta(hours=25)), NOW)
    assert not is_stale(ours("cs", timedelta(hours=23)), NOW)

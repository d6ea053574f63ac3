"""--on-failure, --disable-rollback and --revert-drift: what is sent on create and update, what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from deployer import failure_modes, features
from deployer.changeset import execute_token
from deployer.errors import BadInput, ExitCode
from tests.deploy.conftest import CS_ID, STACK, STACK_ID, Harness, change
from tests.deploy.test_commands import CS_NAME
from tests.deploy.test_stack_state_scenarios import KEEP_ALL, PREVIOUS

pytestmark = pytest.mark.deploy


def queue_update(h: Harness, *, disable_rollback: bool = False, **create_params: Any) -> None:
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE", Parameters=KEEP_ALL, **create_params)
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "False", ["Properties"])]])
    h.expect_successful_execution(disable_rollback=disable_rollback)


def test_revert_drift_is_sent_on_an_update_change_set(harness: Harness) -> None:
    queue_update(harness, DeploymentMode="REVERT_DRIFT")
    assert harness.run(*harness.deploy_args("--revert-drift")) == ExitCode.SUCCESS


def test_revert_drift_on_a_stack_being_created_is_refused_before_the_change_set(harness: Harness) -> None:
    harness.expect_stack(None)
    assert harness.run(*harness.deploy_args("--revert-drift")) == ExitCode.BAD_INPUT
    assert "--revert-drift" in harness.errors and "being created" in harness.errors
    assert harness.calls == ["DescribeStacks"]


def test_plan_accepts_revert_drift_and_executes_nothing(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE", Parameters=KEEP_ALL, DeploymentMode="REVERT_DRIFT")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False", ["Properties"])]])
    assert harness.run(*harness.deploy_args("--revert-drift", command="plan")) == ExitCode.CHANGES_PRESENT
    assert "ExecuteChangeSet" not in harness.calls


def test_an_old_botocore_is_named_before_any_call(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features, "supported", lambda feature: feature is not features.DEPLOYMENT_MODE)
    assert harness.run(*harness.deploy_args("--revert-drift")) == ExitCode.BAD_INPUT
    assert "CreateChangeSet.DeploymentMode" in harness.errors and "pip install --upgrade" in harness.errors
    assert harness.calls == []


def test_on_failure_delete_on_create_reports_the_root_cause_and_the_deleted_stack_as_a_failure(
    harness: Harness,
) -> None:
    h = harness
    h.expect_stack(None)
    h.expect_create_change_set("CREATE", Parameters=[], OnStackFailure="DELETE")
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Add", "Topic")]])
    review = h.event(STACK, "REVIEW_IN_PROGRESS")
    h.expect_events([review])
    # OnStackFailure is on the change set, so ExecuteChangeSet carries no DisableRollback (AWS rejects both).
    h.stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CS_ID, "ClientRequestToken": execute_token(CS_ID)}
    )
    begun = h.event(STACK, "CREATE_IN_PROGRESS", "User Initiated")
    h.expect_events([begun, review])
    bad = h.event("Topic", "CREATE_FAILED", "Topic alerts-dev already exists")
    deleting = h.event(STACK, "DELETE_IN_PROGRESS", "The following resource(s) failed to create: [Topic].")
    gone = h.event(STACK, "DELETE_COMPLETE")
    h.expect_events([gone, deleting, bad, begun, review])
    h.expect_stack("DELETE_COMPLETE", name=STACK_ID)
    assert h.run(*h.deploy_args("--on-failure", "DELETE")) == ExitCode.STACK_FAILED
    assert "Root cause: Topic (AWS::SNS::Topic) CREATE_FAILED: Topic alerts-dev already exists" in h.output
    assert "ended DELETE_COMPLETE" in h.errors and "--on-failure DELETE" in h.errors
    assert "Outputs" not in h.output


def test_on_failure_do_nothing_on_update_is_disable_rollback(harness: Harness) -> None:
    queue_update(harness, disable_rollback=True)  # no OnStackFailure on an update change set
    assert harness.run(*harness.deploy_args("--on-failure", "DO_NOTHING")) == ExitCode.SUCCESS


def test_on_failure_rollback_on_update_sends_nothing_new(harness: Harness) -> None:
    queue_update(harness)
    assert harness.run(*harness.deploy_args("--on-failure", "ROLLBACK")) == ExitCode.SUCCESS


def test_on_failure_delete_on_an_existing_stack_is_refused_before_the_change_set(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    assert harness.run(*harness.deploy_args("--on-failure", "DELETE")) == ExitCode.BAD_INPUT
    assert "never deleted" in harness.errors
    assert harness.mutating_calls == [] and harness.calls == ["DescribeStacks"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--on-failure", "DO_NOTHING", "--disable-rollback"],
        ["--on-failure", "DELETE", "--disable-rollback"],
        ["--on-failure", "DELETE", "--revert-drift"],
    ],
)
def test_combinations_aws_rejects_are_refused_before_any_call(harness: Harness, flags: list[str]) -> None:
    assert harness.run(*harness.deploy_args(*flags)) == ExitCode.BAD_INPUT
    assert harness.calls == []


@pytest.mark.parametrize(
    ("kind", "on_failure", "revert", "expected"),
    [
        ("CREATE", None, False, {}),
        ("CREATE", "DELETE", False, {"OnStackFailure": "DELETE"}),
        ("CREATE", "ROLLBACK", False, {"OnStackFailure": "ROLLBACK"}),
        ("CREATE", "DO_NOTHING", False, {"OnStackFailure": "DO_NOTHING"}),
        ("UPDATE", None, False, {}),
        ("UPDATE", "ROLLBACK", False, {}),
        ("UPDATE", "DO_NOTHING", True, {"DeploymentMode": "REVERT_DRIFT"}),
        ("UPDATE", None, True, {"DeploymentMode": "REVERT_DRIFT"}),
    ],
)
def test_change_set_arguments_per_stack_kind(
    kind: str, on_failure: str | None, revert: bool, expected: dict[str, str]
) -> None:
    assert failure_modes.change_set_kwargs(kind, on_failure, revert, STACK) == expected


@pytest.mark.parametrize(
    ("kind", "on_failure", "revert"), [("CREATE", None, True), ("UPDATE", "DELETE", False)]
)
def test_change_set_arguments_that_cannot_apply_are_bad_input(
    kind: str, on_failure: str | None, revert: bool
) -> None:
    with pytest.raises(BadInput):
        failure_modes.change_set_kwargs(kind, on_failure, revert, STACK)


@pytest.mark.parametrize(
    ("creating", "on_failure", "disable", "expected"),
    [
        (True, None, False, {"DisableRollback": False}),
        (True, None, True, {"DisableRollback": True}),
        (True, "DELETE", False, {}),
        (True, "DO_NOTHING", False, {}),
        (False, None, True, {"DisableRollback": True}),
        (False, "DO_NOTHING", False, {"DisableRollback": True}),
        (False, "ROLLBACK", False, {"DisableRollback": False}),
    ],
)
def test_execute_arguments(creating: bool, on_failure: str | None, disable: bool, expected: Any) -> None:
    assert failure_modes.execute_kwargs(creating, on_failure, disable) == expected


def test_create_without_the_new_flags_sends_neither_member(harness: Harness) -> None:
    harness.expect_stack(None)
    # Stubber compares the whole request: an OnStackFailure or DeploymentMode key here would fail the test.
    harness.stub.add_response(
        "create_change_set",
        {"Id": CS_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ClientToken": ANY,
            "ChangeSetType": "CREATE",
            "Parameters": [],
            "Description": ANY,
            "TemplateBody": ANY,
        },
    )
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Add", "Topic")]])
    assert harness.run(*harness.deploy_args(command="plan")) == ExitCode.CHANGES_PRESENT


def expect_reviewed_create(h: Harness, on_failure: str | None) -> None:
    h.expect_stack("REVIEW_IN_PROGRESS")
    h.expect_change_set_pages([[change("Add", "Topic")]], name=CS_NAME, stack_name=STACK)
    h.expect_change_set_template()  # the data-loss guard reads the change set's template
    page = h.change_set_page("CREATE_COMPLETE", changes=[change("Add", "Topic")])
    if on_failure:
        page["OnStackFailure"] = on_failure
    h.stub.add_response("describe_change_set", page, {"ChangeSetName": CS_ID})


def test_execute_of_a_create_planned_with_on_failure_sends_no_disable_rollback(harness: Harness) -> None:
    h = harness
    expect_reviewed_create(h, "DELETE")
    old = h.event(STACK, "REVIEW_IN_PROGRESS")
    h.expect_events([old])
    h.stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CS_ID, "ClientRequestToken": execute_token(CS_ID)}
    )
    begun = h.event(STACK, "CREATE_IN_PROGRESS", "User Initiated")
    done = h.event(STACK, "CREATE_COMPLETE")
    h.expect_events([done, begun, old])
    h.expect_stack("CREATE_COMPLETE", name=STACK_ID)
    assert h.run("execute", "--stack-name", STACK, "--change-set-name", CS_NAME) == ExitCode.SUCCESS


def test_execute_with_disable_rollback_of_a_create_planned_with_on_failure_is_refused(
    harness: Harness,
) -> None:
    expect_reviewed_create(harness, "DELETE")
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", CS_NAME, "--disable-rollback")
    assert code == ExitCode.BAD_INPUT
    assert "OnStackFailure=DELETE" in harness.errors
    assert harness.mutating_calls == []

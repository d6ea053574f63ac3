"""The pure stack-status -> action table: every status CloudFormation documents has a defined outcome."""

from __future__ import annotations

import botocore.session
import pytest

from deployer.states import Action, Flags, decide, is_settled

NO_FLAGS = Flags()
REPLACE = Flags(replace_failed_stack=True)
CONTINUE = Flags(continue_update_rollback=True)

TABLE = [
    (None, NO_FLAGS, Action.CREATE),
    ("DELETE_COMPLETE", NO_FLAGS, Action.CREATE),
    ("REVIEW_IN_PROGRESS", NO_FLAGS, Action.CREATE),
    ("CREATE_COMPLETE", NO_FLAGS, Action.UPDATE),
    ("UPDATE_COMPLETE", NO_FLAGS, Action.UPDATE),
    ("UPDATE_ROLLBACK_COMPLETE", NO_FLAGS, Action.UPDATE),
    ("IMPORT_COMPLETE", NO_FLAGS, Action.UPDATE),
    ("IMPORT_ROLLBACK_COMPLETE", NO_FLAGS, Action.UPDATE),
    ("UPDATE_FAILED", NO_FLAGS, Action.UPDATE),
    ("ROLLBACK_COMPLETE", NO_FLAGS, Action.STOP),
    ("ROLLBACK_FAILED", NO_FLAGS, Action.STOP),
    ("CREATE_FAILED", NO_FLAGS, Action.STOP),
    ("ROLLBACK_COMPLETE", REPLACE, Action.REPLACE),
    ("ROLLBACK_FAILED", REPLACE, Action.REPLACE),
    ("CREATE_FAILED", REPLACE, Action.REPLACE),
    ("UPDATE_ROLLBACK_FAILED", NO_FLAGS, Action.STOP),
    ("UPDATE_ROLLBACK_FAILED", CONTINUE, Action.CONTINUE_ROLLBACK),
    ("CREATE_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("ROLLBACK_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("DELETE_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("UPDATE_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("UPDATE_ROLLBACK_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("IMPORT_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("IMPORT_ROLLBACK_IN_PROGRESS", NO_FLAGS, Action.WAIT),
    ("DELETE_FAILED", NO_FLAGS, Action.STOP),
    ("DELETE_FAILED", REPLACE, Action.STOP),
    ("IMPORT_ROLLBACK_FAILED", NO_FLAGS, Action.STOP),
    ("SOMETHING_NEW_IN_2030", NO_FLAGS, Action.STOP),
]


@pytest.mark.parametrize(("status", "flags", "action"), TABLE)
def test_each_stack_status_maps_to_its_documented_action(
    status: str | None, flags: Flags, action: Action
) -> None:
    assert decide(status, flags).action is action


def test_every_status_in_the_cloudformation_api_model_is_in_the_table() -> None:
    model = botocore.session.get_session().get_service_model("cloudformation")
    api_statuses = set(model.shape_for("StackStatus").enum)  # type: ignore[attr-defined]
    assert api_statuses <= {status for status, _, _ in TABLE}


def test_stop_for_a_failed_first_create_names_the_flag_that_allows_replacing_it() -> None:
    decision = decide("ROLLBACK_COMPLETE", NO_FLAGS)
    assert decision.suggest_flag == "--replace-failed-stack"
    assert "--replace-failed-stack" in decision.reason


def test_stop_for_a_failed_rollback_names_the_continue_flag() -> None:
    assert decide("UPDATE_ROLLBACK_FAILED", NO_FLAGS).suggest_flag == "--continue-update-rollback"


def test_unknown_status_is_never_guessed() -> None:
    decision = decide("WHATEVER", REPLACE)
    assert decision.action is Action.STOP
    assert "unknown" in decision.reason


def test_review_in_progress_counts_as_settled_but_other_in_progress_states_do_not() -> None:
    assert is_settled("REVIEW_IN_PROGRESS")
    assert is_settled(None)
    assert not is_settled("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")

"""Stack status -> next action: a pure function, so every status has a defined, table-tested outcome.

CloudFormation has two dozen stack statuses; the deployer reduces them to a handful of actions and refuses to guess
on anything it does not know (a status AWS adds tomorrow stops the deploy with guidance).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Action(Enum):
    CREATE = "create"  # CREATE change set (no stack, or one left in REVIEW_IN_PROGRESS)
    UPDATE = "update"  # UPDATE change set
    WAIT = "wait"  # another operation is running: wait for it to settle, then decide again
    REPLACE = "replace"  # the stack holds nothing useful: delete it, then create
    CONTINUE_ROLLBACK = "continue-rollback"  # finish a stuck rollback, then decide again
    STOP = "stop"  # needs a decision or a manual fix: report and exit


@dataclass(frozen=True)
class Flags:
    replace_failed_stack: bool = False
    continue_update_rollback: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    # For STOP: the flag that would let the next run proceed (the CLI appends it to the user's own command).
    suggest_flag: str | None = None


UPDATABLE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
        # Left by an update run with --disable-rollback: AWS accepts a new update to fix forward.
        "UPDATE_FAILED",
    }
)
# A failed first create: the stack holds no resources worth keeping and cannot be updated.
FAILED_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"})
IN_PROGRESS = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "IMPORT_IN_PROGRESS",
        "IMPORT_ROLLBACK_IN_PROGRESS",
    }
)
# Terminal statuses that mean the operation just waited on did not do what was asked.
FAILURE_OUTCOMES = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_FAILED",
    }
)


def is_settled(status: str | None) -> bool:
    """True when no operation is running (REVIEW_IN_PROGRESS only waits for a change set to be executed)."""
    return status not in IN_PROGRESS


def decide(status: str | None, flags: Flags) -> Decision:
    """The next action for a stack in `status` (None: the stack does not exist)."""
    if status is None or status == "DELETE_COMPLETE":
        return Decision(Action.CREATE, "the stack does not exist")
    if status == "REVIEW_IN_PROGRESS":
        return Decision(Action.CREATE, "the stack was never created (a change set was left unexecuted)")
    if status in UPDATABLE:
        return Decision(Action.UPDATE, f"the stack is {status}")
    if status in IN_PROGRESS:
        return Decision(Action.WAIT, f"another operation is running ({status})")
    if status in FAILED_CREATE:
        if flags.replace_failed_stack:
            return Decision(
                Action.REPLACE, f"the first create failed ({status}): deleting and creating again"
            )
        return Decision(
            Action.STOP,
            f"the stack is {status}: its first create failed and it cannot be updated. Deleting it loses nothing; "
            "allow that with --replace-failed-stack",
            suggest_flag="--replace-failed-stack",
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        if flags.continue_update_rollback:
            return Decision(Action.CONTINUE_ROLLBACK, "the last rollback failed: continuing it")
        return Decision(
            Action.STOP,
            "the stack is UPDATE_ROLLBACK_FAILED: a resource could not be rolled back. Fix it by hand, or continue the "
            "rollback (skipping resources with --skip-resources ID ...)",
            suggest_flag="--continue-update-rollback",
        )
    if status == "DELETE_FAILED":
        return Decision(
            Action.STOP,
            "the stack is DELETE_FAILED: a resource could not be deleted. Remove or fix it (the events show which), "
            "then run `deploy.py delete` again (--retain-resources ID keeps what cannot be deleted)",
        )
    if status == "IMPORT_ROLLBACK_FAILED":
        return Decision(
            Action.STOP,
            "the stack is IMPORT_ROLLBACK_FAILED: fix the resources named in the events in the CloudFormation "
            "console, then run this command again",
        )
    return Decision(
        Action.STOP, f"the stack is in an unknown status {status!r}; refusing to guess what to do"
    )

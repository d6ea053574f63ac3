"""What happens when an operation fails, and drift reverting: --on-failure, --disable-rollback, --revert-drift.

Pure functions, so every combination has a table-tested outcome. CloudFormation's rules they follow:
- OnStackFailure (DELETE / ROLLBACK / DO_NOTHING) exists only for a stack being created (CreateChangeSet with
  ChangeSetType CREATE); an update knows only rollback or not (ExecuteChangeSet DisableRollback).
- ExecuteChangeSet's DisableRollback "can't be specified when the OnStackFailure parameter to the CreateChangeSet
  API operation was specified", so the two are never sent together.
- DeploymentMode REVERT_DRIFT applies to an update only: a stack being created has nothing to drift from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deployer import features
from deployer.clients import aws_call
from deployer.errors import BadInput

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

ON_FAILURE_CHOICES = ("DELETE", "ROLLBACK", "DO_NOTHING")


def check_failure_flags(on_failure: str | None, disable_rollback: bool, revert_drift: bool) -> None:
    """Combinations AWS rejects whatever the stack's state, and an installed botocore too old: before any call."""
    if on_failure and disable_rollback:
        raise BadInput(
            "--on-failure and --disable-rollback together: CloudFormation rejects OnStackFailure with "
            "DisableRollback",
            hint="give one: --on-failure DO_NOTHING is --disable-rollback for a stack being created",
        )
    if on_failure == "DELETE" and revert_drift:
        raise BadInput(
            "--on-failure DELETE applies only to a stack being created and --revert-drift only to an update",
            hint="leave one of them out",
        )
    if on_failure:
        features.require(features.ON_STACK_FAILURE)
    if revert_drift:
        features.require(features.DEPLOYMENT_MODE)


def change_set_kwargs(
    change_set_type: str, on_failure: str | None, revert_drift: bool, stack_name: str
) -> dict[str, Any]:
    """Extra CreateChangeSet arguments for this stack (CREATE or UPDATE); BadInput when they cannot apply."""
    creating = change_set_type == "CREATE"
    if revert_drift and creating:
        raise BadInput(
            f"--revert-drift: stack {stack_name} is being created, so it has no drift to revert; nothing was "
            "changed",
            hint="leave --revert-drift out for the first deploy",
        )
    if on_failure == "DELETE" and not creating:
        raise BadInput(
            f"--on-failure DELETE: stack {stack_name} exists, and a failed update is rolled back, never deleted; "
            "nothing was changed",
            hint="use --on-failure ROLLBACK (the default) or DO_NOTHING (= --disable-rollback) for an update",
        )
    if creating and on_failure:
        return {"OnStackFailure": on_failure}
    if revert_drift:
        return {"DeploymentMode": "REVERT_DRIFT"}
    return {}


def execute_kwargs(creating: bool, on_failure: str | None, disable_rollback: bool) -> dict[str, Any]:
    """ExecuteChangeSet's DisableRollback, or nothing when the change set already carries OnStackFailure."""
    if creating and on_failure:
        return {}
    return {"DisableRollback": disable_rollback or on_failure == "DO_NOTHING"}


def recorded_on_failure(cfn: CloudFormationClient, change_set_id: str) -> str | None:
    """The OnStackFailure a change set was created with (by `plan --on-failure`), read from its first page."""
    with aws_call(f"reading change set {change_set_id}"):
        page = cfn.describe_change_set(ChangeSetName=change_set_id)
    value = page.get("OnStackFailure")
    return str(value) if value else None


def execute_kwargs_for_reviewed(
    cfn: CloudFormationClient, change_set_id: str, creating: bool, disable_rollback: bool
) -> dict[str, Any]:
    """ExecuteChangeSet's rollback argument for a change set made earlier (the execute command)."""
    on_failure = recorded_on_failure(cfn, change_set_id) if creating else None
    if on_failure and disable_rollback:
        raise BadInput(
            f"--disable-rollback: change set {change_set_id} was created with OnStackFailure={on_failure}, and "
            "CloudFormation rejects DisableRollback for it; nothing was executed",
            hint="leave --disable-rollback out, or plan again with --on-failure DO_NOTHING",
        )
    return execute_kwargs(creating, on_failure, disable_rollback)

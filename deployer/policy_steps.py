"""The stack policy around an execution: the run's policy set before an update, opened for exactly the resources
the user allowed, set back on every way out, and an opening that a killed run left closed by the next run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deployer.clients import aws_call
from deployer.errors import AwsApiError, DeployError
from deployer.review import current_policy, restore_policy
from deployer.runtime import Context
from deployer.stack_policy import opened_for, original_of


@dataclass(frozen=True)
class Opening:
    """A policy opened for one execution, and the policy to set back after it."""

    stack_id: str
    ids: tuple[str, ...]
    restore: dict[str, Any]

    def close(self, ctx: Context, *, failing: bool = False) -> bool:
        return restore_policy(ctx, self.stack_id, self.restore, failing=failing, opened=self.ids)

    def close_after_failure(self, ctx: Context, err: DeployError) -> None:
        """After the execution's error (and root cause) is printed; if the policy stays open, the error says so."""
        if not self.close(ctx, failing=True):
            err.hint = (err.hint + "; " if err.hint else "") + (
                "the stack policy is still open: close it with the set-stack-policy command printed above"
            )


def set_policy(
    ctx: Context, stack_id: str, policy: Mapping[str, Any], done: str = "Stack policy set"
) -> None:
    with aws_call(f"setting the stack policy of {stack_id}"):
        ctx.cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=json.dumps(policy))
    ctx.say(done)


def before_update(
    ctx: Context, stack_id: str, policy: dict[str, Any] | None, allowed: Sequence[str]
) -> Opening | None:
    """Set the policy an update runs under: this run's policy, opened for the allowed resources only.

    Without a policy of its own (no stateful resource left in the template, no policy file), the stack's current
    policy may still protect what is being removed: that one is opened, or an opening an earlier run left in it
    is opened afresh from the policy it carries. With nothing allowed, such an opening is closed after the
    execution (`settle`), so the common update costs no extra call before it starts.
    """
    base = policy
    if base is None and allowed:
        current = current_policy(ctx, stack_id)
        base = original_of(current) or current
    if base and allowed:
        opened = opened_for(base, allowed)
        set_policy(ctx, stack_id, opened, f"Stack policy opened for this update only: {', '.join(allowed)}")
        return Opening(stack_id, tuple(allowed), base)
    if policy:
        set_policy(ctx, stack_id, policy)
    return None


def after_execution(
    ctx: Context, stack_id: str, opening: Opening | None, policy: dict[str, Any] | None, *, creating: bool
) -> None:
    """After a successful execution: set the opened policy back, give a new stack its policy, or, for an update
    without a policy of its own, close an opening an earlier run left."""
    if opening:
        opening.close(ctx)
    elif creating and policy:
        set_policy(ctx, stack_id, policy)
    elif not creating and not policy:
        close_leftover(ctx, stack_id)


def settle(ctx: Context, stack_id: str, policy: dict[str, Any] | None) -> None:
    """Leave the stack with this run's policy, or without one, with any opening of an earlier run closed.

    For the runs that execute nothing themselves: no changes, or a change set an earlier run already executed.
    """
    if policy:
        set_policy(ctx, stack_id, policy)
    else:
        close_leftover(ctx, stack_id)


def close_leftover(ctx: Context, stack_id: str, *, failing: bool = False) -> None:
    """Set back the policy an opening of an earlier run carries, if the stack's policy is one.

    With `failing` (the run is already reporting an error), a failure to read or set it only warns.
    """
    try:
        original = original_of(current_policy(ctx, stack_id))
    except AwsApiError as err:
        if not failing:
            raise
        ctx.say(f"WARNING: whether an earlier run left the stack policy open is unknown ({err.message})")
        return
    if original is not None:
        restore_policy(ctx, stack_id, original, failing=failing, done=_LEFTOVER_CLOSED)


_LEFTOVER_CLOSED = "Stack policy opened by an earlier run closed (set back to the policy it replaced)"

"""Who holds a name the stack wants: a live stack (whose resources are never to be removed from under it), or no
stack at all (a leftover, which may be adopted or removed).

The owner is read from the aws:cloudformation:stack-id / stack-name tags where the service has tags (S3, CloudWatch
Logs), else from DescribeStackResources with the PhysicalResourceId (KMS aliases have no tags). Tags outlive their
stack on a retained resource, and DescribeStackResources still answers for a deleted stack, so the stack they name
is read back: only one that is not DELETE_COMPLETE, holding a resource not DELETE_SKIPPED, owns the name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from deployer.clients import error_code, error_message, is_stack_missing
from deployer.preflight.context import AWS_ERRORS, PreflightContext, is_denied, let_harness_errors_through
from deployer.preflight.model import Finding, Status

STACK_ID_TAG = "aws:cloudformation:stack-id"
STACK_NAME_TAG = "aws:cloudformation:stack-name"
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
RELEASED = frozenset(
    {"DELETE_COMPLETE", "DELETE_SKIPPED"}
)  # a resource status that no longer ties it to the stack
PERMISSION = "cloudformation:DescribeStackResources, cloudformation:DescribeStacks"
ANOTHER_SUFFIX = "choose another EnvironmentSuffix"

Tags = Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class Owner:
    stack: str
    logical_id: str | None = None


def live_owner(ctx: PreflightContext, physical_id: str, tags: Tags | None = None) -> Owner | None:
    """The live stack holding the resource, or None when no stack does.

    Raises the AWS error when CloudFormation cannot be read: then the owner is unknown, which is not "no owner".
    """
    cfn = ctx.client("cloudformation")
    found: dict[str, str] = {}
    if tags is not None:
        try:
            found = dict(tags())
        except AWS_ERRORS as err:
            let_harness_errors_through(err)
            found = {}  # tags unreadable: CloudFormation itself still knows
    ref = found.get(STACK_ID_TAG) or found.get(STACK_NAME_TAG)
    if ref:
        name = _live_stack(cfn, ref)
        return Owner(name, found.get(LOGICAL_ID_TAG)) if name else None
    try:
        resources = cfn.describe_stack_resources(PhysicalResourceId=physical_id)["StackResources"]
    except ClientError as err:
        # AWS: ValidationError "Stack for NAME does not exist" when no stack holds that physical id.
        if error_code(err) == "ValidationError" and "does not exist" in error_message(err):
            return None
        raise
    for resource in resources:
        if resource.get("PhysicalResourceId") != physical_id or resource.get("ResourceStatus") in RELEASED:
            continue
        name = _live_stack(cfn, str(resource.get("StackId") or resource.get("StackName")))
        if name:
            return Owner(name, resource.get("LogicalResourceId"))
    return None


def _live_stack(cfn: Any, ref: str) -> str | None:
    try:
        stack = cfn.describe_stacks(StackName=ref)["Stacks"][0]
    except ClientError as err:
        if is_stack_missing(err):
            return None
        raise
    return None if stack.get("StackStatus") == "DELETE_COMPLETE" else str(stack["StackName"])


def owned(check: str, what: str, logical_id: str, owner: Owner, this_stack: str | None) -> Finding:
    """A name a live stack holds: the only fix is another name; removing it would break that stack."""
    held_as = f" as {owner.logical_id}" if owner.logical_id else ""
    if owner.stack == this_stack:
        return Finding(
            check,
            Status.FAIL,
            f"{what} ({logical_id}) already belongs to this stack{held_as}: two resources cannot share the name",
            fix=f"give {logical_id} another name; the stack's own resource keeps this one",
        )
    return Finding(
        check,
        Status.FAIL,
        f"{what} ({logical_id}) belongs to the live stack {owner.stack}{held_as}: the create would fail",
        fix=f"{ANOTHER_SUFFIX} (the name is stack {owner.stack}'s; leave its resources alone)",
    )


def owner_unknown(check: str, what: str, logical_id: str, err: Exception) -> Finding:
    """The name is taken (the create fails either way), but whether a stack holds it cannot be read: no removal."""
    let_harness_errors_through(err)
    if isinstance(err, ClientError) and is_denied(err):
        reason = f"access denied ({PERMISSION})"
    elif isinstance(err, ClientError):
        reason = f"{error_code(err)}: {error_message(err)}"
    else:
        reason = str(err)
    return Finding(
        check,
        Status.FAIL,
        f"{what} ({logical_id}) already exists, and whether a live stack holds it cannot be read "
        f"({' '.join(reason.split())[:200]}): the create would fail",
        fix=f"{ANOTHER_SUFFIX}; to adopt or remove it instead, first allow {PERMISSION} and run preflight "
        "again to learn whether a stack holds it",
    )


def this_stack(ctx: PreflightContext) -> str | None:
    stack = ctx.facts.stack
    return str(stack["StackName"]) if stack and "StackName" in stack else None

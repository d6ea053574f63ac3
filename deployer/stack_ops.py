"""Stack-level steps shared by the commands: read, wait, report, and the status and delete commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from cfnspec.limits import RETAIN, RETAIN_EXCEPT_ON_CREATE
from deployer import review, validation
from deployer.clients import aws_call, http_status
from deployer.errors import AwsApiError, BadInput, DeployError, ExitCode, NeedsDecision, StackFailed
from deployer.events import Event, EventReader, operation_events, root_cause
from deployer.runtime import Context
from deployer.states import FAILURE_OUTCOMES, IN_PROGRESS, is_settled
from deployer.waiting import POLL_ERRORS, WaitResult, describe_stack, stack_name_of, wait_for_stack

SUCCESS_OUTCOMES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "DELETE_COMPLETE"})


def read_stack(ctx: Context, stack: str) -> dict[str, Any] | None:
    with aws_call(f"reading stack {stack}"):
        return describe_stack(ctx.cfn, stack)


def operation(
    ctx: Context,
    stack_id: str,
    start: Callable[[], object],
    doing: str = "",
    started: Callable[[], str | None] | None = None,
) -> WaitResult:
    """Start a stack operation and wait for it; events from before the start are never shown again.

    `started` reads back whether the operation began, for a start whose answer was lost (the connection dropped
    after the request was sent, or a server error): it returns what shows that it did, or None.
    """
    reader = EventReader(ctx.cfn, stack_id)
    with aws_call(f"reading events of {stack_name_of(stack_id)}"):
        reader.prime()
    doing = doing or f"starting an operation on {stack_name_of(stack_id)}"
    try:
        with aws_call(doing):
            start()
    except AwsApiError as err:
        evidence = _read_back(ctx, err, started, stack_id)
        ctx.say(f"The answer to {doing} was lost, but it did start ({evidence}): waiting for it")
    ctx.progress.executing = True  # only now: a start that failed left the stack as it was
    result = wait_for_stack(ctx.cfn, reader, ctx.reporter, ctx.pacer, require_event=True)
    ctx.progress.executing = False  # settled: nothing is in progress any more, whatever comes next
    return result


def answer_may_be_lost(err: BaseException | None) -> bool:
    """Whether a failed call may have been carried out all the same: only a 4xx answer is AWS's verdict on it."""
    if isinstance(err, ClientError):
        return http_status(err) >= 500
    return isinstance(err, BotoCoreError | ResponseParserError)


def _read_back(
    ctx: Context, err: AwsApiError, started: Callable[[], str | None] | None, stack_id: str
) -> str:
    """What shows that the start took effect; re-raises `err` when it did not, or when that cannot be known."""
    if started is None or not answer_may_be_lost(err.__cause__):
        raise err
    try:
        evidence = started()
    except DeployError as read_err:
        ctx.progress.start_unknown = True
        err.hint = (
            f"the answer was lost and reading the state back failed too ({read_err.message}), so whether it "
            f"started is unknown: {ctx.command_for('status', '--stack-name', stack_name_of(stack_id))} shows it"
        )
        raise err from read_err
    if evidence is None:
        raise err
    return evidence


def change_set_started(ctx: Context, change_set_id: str, stack_id: str) -> str | None:
    """Whether a change set began executing, read back from AWS: its ExecutionStatus and the stack's status."""
    with aws_call(f"reading change set {change_set_id} back"):
        execution = str(ctx.cfn.describe_change_set(ChangeSetName=change_set_id).get("ExecutionStatus", ""))
    stack = read_stack(ctx, stack_id)
    status = str(stack["StackStatus"]) if stack else "gone"
    moving = status in IN_PROGRESS and status != "REVIEW_IN_PROGRESS"
    if execution in {"EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE", "EXECUTE_FAILED"} or moving:
        return f"change set {execution or 'status unknown'}, stack {status}"
    return None


def wait_until_settled(ctx: Context, stack: dict[str, Any]) -> WaitResult:
    """Wait for an operation this run did not start (another deploy, or an earlier run that was interrupted)."""
    ctx.say(
        f"Waiting for the running operation ({stack['StackStatus']}) to finish; nothing is changed meanwhile"
    )
    reader = EventReader(ctx.cfn, stack["StackId"])
    with aws_call(f"reading events of {stack['StackName']}"):
        reader.prime()
    return wait_for_stack(ctx.cfn, reader, ctx.reporter, ctx.pacer, require_event=False)


def failure(ctx: Context, stack: dict[str, Any], events: Sequence[Event] | None = None) -> StackFailed:
    """The StackFailed error for a stack that ended badly, with the root cause printed above it."""
    status = str(stack.get("StackStatus"))
    if not events or root_cause(events, stack["StackId"]) is None:
        try:
            events = operation_events(ctx.cfn, stack["StackId"])
        except POLL_ERRORS:
            events = events or []  # the failure itself is the news; a failed event read must not hide it
    cause = root_cause(events, stack["StackId"])
    validation.explain_operation(ctx.cfn, ctx.say, stack)
    if cause:
        for line in cause.lines():
            ctx.say(line)
        return StackFailed(
            f"stack {stack.get('StackName')} ended {status}: {cause.logical_id} {cause.status}",
            hint=cause.hint,
        )
    reason = stack.get("StackStatusReason") or "no failed resource event found"
    return StackFailed(f"stack {stack.get('StackName')} ended {status}: {reason}")


def execution_failure(ctx: Context, final: dict[str, Any], events: list[Any], creating: bool) -> StackFailed:
    """The error for an execution that did not succeed, its root cause printed."""
    err = failure(ctx, final, events)
    if creating and final["StackStatus"] == "DELETE_COMPLETE":
        # --on-failure DELETE removed the stack whose create failed: the events read while waiting name the cause.
        err.hint = (err.hint + "; " if err.hint else "") + (
            "the failed create was deleted (--on-failure DELETE), nothing is left behind: fix the cause and "
            "run again"
        )
    return err


def print_root_cause_if_failed(ctx: Context, stack: dict[str, Any]) -> str | None:
    """Print why the stack failed; return the command that moves it on, when one is ready to run (DELETE_FAILED)."""
    if stack.get("StackStatus") not in FAILURE_OUTCOMES:
        return None
    try:
        events = operation_events(ctx.cfn, stack["StackId"])
    except POLL_ERRORS:
        events = []  # the failure itself is the news; a failed event read must not hide it
    failure(ctx, stack, events)
    if stack.get("StackStatus") != "DELETE_FAILED":
        return None
    return retry_delete_command(ctx, stack, events)


def retry_delete_command(ctx: Context, stack: dict[str, Any], events: Sequence[Event]) -> str:
    """Print (and return) the delete command that keeps the resources this deletion could not remove."""
    ids = undeletable(events, stack["StackId"]) or ["LOGICAL_ID"]
    name = str(stack.get("StackName") or stack_name_of(stack["StackId"]))
    command = ctx.command_for("delete", "--stack-name", name, "--yes", "--retain-resources", *ids)
    ctx.say(f"To delete the stack and keep what could not be deleted ({', '.join(ids)}), run:\n  {command}")
    return command


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}


def show_outputs(ctx: Context, stack: dict[str, Any], outputs_file: Path | None) -> None:
    outputs = outputs_of(stack)
    if outputs:
        ctx.say("Outputs:")
        for key, value in sorted(outputs.items()):
            ctx.say(f"  {key} = {value}")
    else:
        ctx.say("Outputs: (none)")
    if outputs_file:
        outputs_file.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        ctx.say(f"Wrote outputs to {outputs_file}")


def undeletable(events: Sequence[Event], stack_id: str) -> list[str]:
    """Logical ids of the resources whose deletion failed in this operation, in the order they failed."""
    ids: list[str] = []
    for event in events:
        logical_id = str(event.get("LogicalResourceId", ""))
        failed = (
            event.get("ResourceStatus") == "DELETE_FAILED" and event.get("PhysicalResourceId") != stack_id
        )
        if failed and logical_id and logical_id not in ids:
            ids.append(logical_id)
    return ids


# ---- status ---------------------------------------------------------------------------------------------------


def run_status(ctx: Context, stack_name: str, outputs_file: Path | None) -> ExitCode:
    stack = read_stack(ctx, stack_name)
    if stack is None:
        raise BadInput(f"stack {stack_name} does not exist (in this region/account)")
    ctx.say(f"Stack: {stack['StackName']}")
    ctx.say(
        f"Status: {stack['StackStatus']}"
        + (f" ({stack['StackStatusReason']})" if stack.get("StackStatusReason") else "")
    )
    ctx.say(last_updated(stack))
    ctx.say(f"Termination protection: {'on' if stack.get('EnableTerminationProtection') else 'off'}")
    for param in stack.get("Parameters") or []:
        ctx.say(f"  parameter {param['ParameterKey']} = {param.get('ParameterValue', '')}")
    with aws_call(f"listing change sets of {stack_name}"):
        for page in ctx.cfn.get_paginator("list_change_sets").paginate(StackName=stack["StackId"]):
            for summary in page.get("Summaries", []):
                if summary.get("StackName") in (None, stack["StackName"]):
                    ctx.say(
                        f"  change set {summary['ChangeSetName']}: {summary.get('Status')} / "
                        f"{summary.get('ExecutionStatus')}"
                    )
    print_root_cause_if_failed(ctx, stack)
    show_outputs(ctx, stack, outputs_file)
    return ExitCode.SUCCESS


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def last_updated(stack: Mapping[str, Any]) -> str:
    """When the stack last changed: LastUpdatedTime, else CreationTime for a stack never updated since."""
    created = stack.get("CreationTime")
    if stack.get("LastUpdatedTime"):
        return f"Last updated: {_when(stack['LastUpdatedTime'])} (created {_when(created)})"
    return f"Last updated: {_when(created)} (created then, not updated since)"


# ---- delete ---------------------------------------------------------------------------------------------------

KEEPING_POLICIES = frozenset({RETAIN, RETAIN_EXCEPT_ON_CREATE})


@dataclass(frozen=True)
class Kept:
    """A resource that deleting the stack leaves in the account."""

    logical_id: str
    resource_type: str
    physical_id: str
    why: str

    def line(self) -> str:
        return f"  {self.logical_id} ({self.resource_type}): {self.physical_id} [{self.why}]"


def kept_resources(ctx: Context, stack_id: str, retain: Sequence[str]) -> list[Kept]:
    """What deleting the stack will leave behind, read before the delete: once the stack is gone its resources
    can no longer be listed. DeletionPolicy Retain and RetainExceptOnCreate keep a resource when its stack is
    deleted (the latter deletes it only when the create that made it rolls back); --retain-resources keeps the
    ones it names. ListStackResources rather than DescribeStackResources: the latter stops at 100 resources."""
    live: list[Mapping[str, Any]] = []
    with aws_call(f"listing the resources of {stack_name_of(stack_id)}"):
        for page in ctx.cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            live += [
                summary
                for summary in page.get("StackResourceSummaries", [])
                if summary.get("PhysicalResourceId") and summary.get("ResourceStatus") != "DELETE_COMPLETE"
            ]
    if not live:  # nothing exists (a stack still in review, say): no template to read
        return []
    resources = review.deployed_template(ctx, stack_id).get("Resources") or {}
    kept = []
    for summary in live:
        logical_id = str(summary["LogicalResourceId"])
        policy = (resources.get(logical_id) or {}).get("DeletionPolicy")
        if logical_id in retain:
            why = "--retain-resources"
        elif isinstance(policy, str) and policy in KEEPING_POLICIES:
            why = f"DeletionPolicy {policy}"
        else:
            continue
        kept.append(
            Kept(logical_id, str(summary.get("ResourceType")), str(summary["PhysicalResourceId"]), why)
        )
    return kept


def _say_left_behind(ctx: Context, kept: Sequence[Kept]) -> None:
    if not kept:
        ctx.say("Nothing was left behind: no resource of the stack is retained on delete")
        return
    ctx.say(
        f"Left in the account ({len(kept)}): delete them yourself when they are no longer needed (a new stack "
        "of the same template adopts retained buckets, log groups and KMS keys with deploy "
        "--import-existing-resources)"
    )
    for item in kept:
        ctx.say(item.line())


def run_delete(
    ctx: Context, stack_name: str, *, yes: bool, retain: Sequence[str], role_arn: str | None
) -> ExitCode:
    stack = read_stack(ctx, stack_name)
    if stack is None:
        ctx.say(f"Stack {stack_name} does not exist; nothing to delete")
        return ExitCode.SUCCESS
    if stack.get("EnableTerminationProtection"):
        raise NeedsDecision(
            f"stack {stack_name} has termination protection on; nothing was deleted",
            hint="if deleting it is really intended, turn protection off first: aws cloudformation "
            f"update-termination-protection --no-enable-termination-protection --stack-name {stack_name}",
        )
    if not yes:
        answer = ctx.confirm(
            f"Delete stack {stack_name} ({stack['StackStatus']})? Type its name to confirm: "
        )
        if answer.strip() != stack_name:
            raise BadInput("deletion not confirmed; nothing was deleted")
    if not is_settled(stack["StackStatus"]):
        stack = wait_until_settled(ctx, stack).stack
    if retain and stack["StackStatus"] != "DELETE_FAILED":
        raise BadInput("--retain-resources only applies to a stack in DELETE_FAILED; nothing was deleted")

    kwargs: dict[str, Any] = {
        "StackName": stack["StackId"],
        "ClientRequestToken": f"tap-deploy-{uuid.uuid4().hex}",
    }
    if retain:
        kwargs["RetainResources"] = list(retain)
    if role_arn:
        kwargs["RoleARN"] = role_arn
    kept = kept_resources(ctx, stack["StackId"], retain)
    ctx.say(f"Deleting stack {stack_name}")
    result = operation(ctx, stack["StackId"], lambda: ctx.cfn.delete_stack(**kwargs))
    if result.stack["StackStatus"] != "DELETE_COMPLETE":
        err = failure(ctx, result.stack, result.events)
        retry = retry_delete_command(ctx, result.stack, result.events)
        err.hint = "; ".join(
            h for h in (err.hint, f"fix or empty what failed, or keep it with: {retry}") if h
        )
        raise err
    ctx.say(f"Stack {stack_name} deleted")
    _say_left_behind(ctx, kept)
    return ExitCode.SUCCESS

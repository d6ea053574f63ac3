"""Check 8: CloudFormation's own validation of the real stack, through a change set that is never executed.

The change set (named tap-preflight-UUID) is deleted again on every way out: a verdict, an error, a timeout, an
interrupt, and a CreateChangeSet whose answer was lost on the network (deleted by name). A REVIEW_IN_PROGRESS stack
is deleted only when preflight's own CREATE change set made it (no stack was there before) and it holds no other
change set: someone's `plan` of a new stack awaiting review is never removed. What cannot be deleted is a WARN with
the command that deletes it. DescribeEvents and ListHookResults are newer APIs: botocore's service model says
whether the client knows them, and an endpoint that does not answer them is reported as a WARN, never a pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deployer import changeset, features
from deployer.clients import error_code, error_message, is_stack_missing
from deployer.errors import DeployError
from deployer.preflight.context import (
    AWS_ERRORS,
    PreflightContext,
    could_not_check,
    let_harness_errors_through,
)
from deployer.preflight.model import Finding, Status
from deployer.waiting import Pacer

CHECK = "online-validation"
PREFIX = "tap-preflight"
HOOK_FAILED = frozenset({"HOOK_COMPLETE_FAILED", "HOOK_FAILED"})
CHANGE_SET_GONE = frozenset({"ChangeSetNotFound", "ChangeSetNotFoundException"})


@dataclass(frozen=True)
class ChangeSetInputs:
    """Deploy's own change-set request (changeset.request_for), so that CloudFormation validates the very same."""

    request: changeset.ChangeSetRequest
    template_url: Callable[[], str | None]  # uploads when the template is over the inline limit
    pacer: Pacer


def new_name() -> str:
    return f"{PREFIX}-{uuid.uuid4().hex}"


def check_online(ctx: PreflightContext, inputs: ChangeSetInputs) -> list[Finding]:
    cfn = ctx.client("cloudformation")
    url = inputs.template_url()
    request = inputs.request.uploaded(url) if url else inputs.request
    created: tuple[str, str] | None = None
    findings: list[Finding] = []
    try:
        created = changeset.create(cfn, request)
        if created is None:
            return [Finding(CHECK, Status.PASS, "CloudFormation accepts the template: nothing to change")]
        page = changeset.wait_until_created(cfn, created[0], inputs.pacer)
        findings = _verdict(ctx, created[0], page)
    except (DeployError, *AWS_ERRORS) as err:  # a finding, not a crash; the change set is removed below
        findings = [could_not_check(CHECK, "the template online", err, "cloudformation:CreateChangeSet")]
        if created is None and _answer_lost(err):
            # The request may have reached CloudFormation: remove the change set by its unique name.
            created = (request.name, request.stack_name)
    finally:
        if created is not None:
            left = _clean_up(ctx, created, stack_was_new=_made_stack(ctx.facts.stack, created[1]))
            if not any(f.status is Status.WARN for f in left):
                findings = [_deleted(f) for f in findings]
            findings += left
    return findings


def _made_stack(before: Mapping[str, Any] | None, stack: str) -> bool:
    """Whether preflight's CREATE change set made the stack: none was there, or its change set is in another one."""
    if before is None:
        return True
    return stack.startswith("arn:") and stack != before.get("StackId")


def _deleted(finding: Finding) -> Finding:
    """The pass line says the change set is gone only once it is."""
    if finding.status is not Status.PASS:
        return finding
    return Finding(
        finding.check, finding.status, f"{finding.message}; it was deleted unexecuted", finding.fix
    )


def _answer_lost(err: Exception) -> bool:
    """No answer came back (a dropped connection, a read timeout): unlike a refusal, the call may have worked."""
    cause = err.__cause__ if isinstance(err, DeployError) else err
    return isinstance(cause, BotoCoreError)


def _verdict(ctx: PreflightContext, change_set_id: str, page: Mapping[str, Any]) -> list[Finding]:
    findings = []
    reason = str(page.get("StatusReason", ""))
    if page.get("Status") == "FAILED" and not changeset.is_no_changes(reason):
        findings.append(
            Finding(
                CHECK,
                Status.FAIL,
                f"CloudFormation rejects the change set: {reason}",
                fix="correct the template or parameters as the message says",
            )
        )
    findings += _validation_events(ctx, change_set_id)
    findings += _hook_results(ctx, change_set_id)
    if not any(f.status in {Status.FAIL, Status.WARN} for f in findings):
        changes = len(page.get("Changes", []))
        findings.append(
            Finding(
                CHECK,
                Status.PASS,
                f"CloudFormation validated the change set ({changes} change(s) on the first page)",
            )
        )
    return findings


def _validation_events(ctx: PreflightContext, change_set_id: str) -> list[Finding]:
    if not features.supported(features.DESCRIBE_EVENTS):
        return [
            Finding(
                CHECK,
                Status.WARN,
                "this botocore does not know DescribeEvents: CloudFormation's "
                "validation findings cannot be read",
                fix="pip install --upgrade boto3 botocore",
            )
        ]
    try:
        pages = (
            ctx.client("cloudformation")
            .get_paginator("describe_events")
            .paginate(ChangeSetName=change_set_id, Filters={"FailedEvents": True})
        )
        events = [e for page in pages for e in page.get("OperationEvents", [])]
    except AWS_ERRORS as err:
        warn = could_not_check(
            CHECK, "the validation findings (DescribeEvents)", err, "cloudformation:DescribeEvents"
        )
        return [
            Finding(CHECK, Status.WARN, warn.message + " (an endpoint without DescribeEvents?)", fix=warn.fix)
        ]
    out = []
    for e in events:
        where = e.get("LogicalResourceId") or e.get("ValidationPath") or "template"
        if e.get("ValidationStatus") == "FAILED":
            status = Status.WARN if e.get("ValidationFailureMode") == "WARN" else Status.FAIL
            text = (
                f"{e.get('ValidationName', 'validation')} on {where}: {e.get('ValidationStatusReason', '')}"
            )
            out.append(Finding(CHECK, status, text.strip(), fix="correct the resource as the message says"))
        elif e.get("HookStatus") in HOOK_FAILED:
            status = Status.WARN if e.get("HookFailureMode") == "WARN" else Status.FAIL
            out.append(
                Finding(
                    CHECK,
                    status,
                    f"hook {e.get('HookType')} on {where}: {e.get('HookStatusReason', '')}",
                    fix="meet the account's hook rule, or ask its owner",
                )
            )
    return out


def _hook_results(ctx: PreflightContext, change_set_id: str) -> list[Finding]:
    cfn = ctx.client("cloudformation")
    if not cfn.meta.service_model.operation_names.count("ListHookResults"):
        return []
    results: list[Mapping[str, Any]] = []
    kwargs: dict[str, Any] = {"TargetType": "CHANGE_SET", "TargetId": change_set_id}
    try:
        # botocore ships no paginator for ListHookResults, so the NextToken loop is written here.
        while True:
            page = cfn.list_hook_results(**kwargs)
            results += page.get("HookResults", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    except AWS_ERRORS as err:
        warn = could_not_check(CHECK, "hook results", err, "cloudformation:ListHookResults")
        return [Finding(CHECK, Status.WARN, warn.message, fix=warn.fix)]
    return [
        Finding(
            CHECK,
            Status.WARN if r.get("FailureMode") == "WARN" else Status.FAIL,
            f"hook {r.get('TypeName')} ({r.get('InvocationPoint')}): {r.get('HookStatusReason', '')}",
            fix="meet the account's hook rule, or ask its owner",
        )
        for r in results
        if r.get("Status") in HOOK_FAILED
    ]


def _clean_up(ctx: PreflightContext, created: tuple[str, str], *, stack_was_new: bool) -> list[Finding]:
    """Delete preflight's change set, then the stack its CREATE made if nobody else's change set is in it."""
    cfn = ctx.client("cloudformation")
    change_set, stack = created  # ids, or the change set's name and the stack's name when the answer was lost
    by_name = {} if change_set.startswith("arn:") else {"StackName": stack}
    try:
        cfn.delete_change_set(ChangeSetName=change_set, **by_name)
    except AWS_ERRORS as err:
        if not (isinstance(err, ClientError) and error_code(err) in CHANGE_SET_GONE):
            then = " (then the stack, if it holds no other change set)" if stack_was_new else ""
            return [
                _left_behind(
                    f"preflight's change set {change_set}{then}",
                    err,
                    f"aws cloudformation delete-change-set --change-set-name {change_set}"
                    + (f" --stack-name {stack}" if by_name else ""),
                )
            ]
    if not stack_was_new:
        return []
    try:
        found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if found["StackStatus"] != "REVIEW_IN_PROGRESS":
            return []
        others = _other_change_sets(cfn, found["StackId"], change_set)
        if others:
            return [
                Finding(
                    CHECK,
                    Status.INFO,
                    f"stack {found['StackName']} is left in REVIEW_IN_PROGRESS: it holds change set(s) "
                    f"{', '.join(others)} awaiting review, made while preflight ran",
                )
            ]
        # A change set created between this listing and the deletion would go with the stack; AWS offers no
        # conditional delete, and the window is one call wide.
        cfn.delete_stack(StackName=found["StackId"])
    except AWS_ERRORS as err:
        if isinstance(err, ClientError) and is_stack_missing(err):
            return []
        return [
            _left_behind(
                f"the REVIEW_IN_PROGRESS stack {stack} that preflight's change set made",
                err,
                "check that it holds no change set awaiting review (aws cloudformation list-change-sets "
                f"--stack-name {stack}), then: aws cloudformation delete-stack --stack-name {stack}",
            )
        ]
    return []


def _other_change_sets(cfn: Any, stack_id: str, ours: str) -> list[str]:
    pages = cfn.get_paginator("list_change_sets").paginate(StackName=stack_id)
    return [
        str(summary.get("ChangeSetName"))
        for page in pages
        for summary in page.get("Summaries", [])
        # The stack id is compared as well: an endpoint that ignores StackName would list other stacks' too.
        if summary.get("StackId", stack_id) == stack_id
        and ours not in (summary.get("ChangeSetId"), summary.get("ChangeSetName"))
    ]


def _left_behind(what: str, err: Exception, fix: str) -> Finding:
    let_harness_errors_through(err)
    reason = f"{error_code(err)}: {error_message(err)}" if isinstance(err, ClientError) else str(err)
    return Finding(CHECK, Status.WARN, f"could not delete {what} ({' '.join(reason.split())[:200]})", fix=fix)

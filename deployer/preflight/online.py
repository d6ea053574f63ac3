"""Check 8: CloudFormation's own validation of the real stack, through a change set that is never executed.

The change set (and, when it had to create one, the REVIEW_IN_PROGRESS stack) is always deleted again, whatever
the outcome. DescribeEvents and ListHookResults are newer APIs: botocore's service model says whether the client
knows them, and an endpoint that does not answer them is reported as a WARN, never a pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deployer import changeset, features
from deployer.errors import DeployError
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.model import Finding, Status
from deployer.waiting import Pacer

CHECK = "online-validation"
PREFIX = "tap-preflight"
HOOK_FAILED = frozenset({"HOOK_COMPLETE_FAILED", "HOOK_FAILED"})


@dataclass(frozen=True)
class ChangeSetInputs:
    """What deploy would send with its change set, so that CloudFormation validates the very same request."""

    stack_name: str
    parameters: Sequence[Mapping[str, Any]]
    capabilities: Sequence[str]
    tags: Mapping[str, str]
    template_body: str | None
    template_url: Callable[[], str | None]  # uploads when the template is over the inline limit
    role_arn: str | None
    notification_arns: Sequence[str]
    rollback_alarms: Sequence[str]
    pacer: Pacer


def check_online(ctx: PreflightContext, inputs: ChangeSetInputs) -> list[Finding]:
    facts = ctx.facts
    cfn = ctx.client("cloudformation")
    kind = "CREATE" if facts.creating else "UPDATE"
    url = inputs.template_url()
    request = changeset.ChangeSetRequest(
        stack_name=inputs.stack_name,
        change_set_type=kind,
        parameters=inputs.parameters,
        capabilities=inputs.capabilities,
        tags=inputs.tags,
        template_body=None if url else inputs.template_body,
        template_url=url,
        role_arn=inputs.role_arn,
        notification_arns=inputs.notification_arns,
        rollback_alarms=inputs.rollback_alarms,
        name=f"{PREFIX}-{uuid.uuid4().hex}",
    )
    created: tuple[str, str] | None = None
    try:
        created = changeset.create(cfn, request)
        if created is None:
            return [Finding(CHECK, Status.PASS, "CloudFormation accepts the template: nothing to change")]
        page = changeset.wait_until_created(cfn, created[0], inputs.pacer)
        return _verdict(ctx, created[0], page)
    except (DeployError, *AWS_ERRORS) as err:  # a finding, not a crash; the change set is removed below
        return [could_not_check(CHECK, "the template online", err, "cloudformation:CreateChangeSet")]
    finally:
        if created is not None:
            _clean_up(ctx, created, stack_was_new=facts.stack is None)


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
                f"CloudFormation validated the change set ({changes} change(s) "
                "on the first page); it was deleted unexecuted",
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


def _clean_up(ctx: PreflightContext, created: tuple[str, str], *, stack_was_new: bool) -> None:
    cfn = ctx.client("cloudformation")
    change_set_id, stack_id = created
    try:
        changeset.delete(cfn, change_set_id)
        if stack_was_new:
            # A CREATE change set made a REVIEW_IN_PROGRESS stack that did not exist before: remove it too.
            stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            if stack["StackStatus"] == "REVIEW_IN_PROGRESS":
                cfn.delete_stack(StackName=stack_id)
    except (DeployError, *AWS_ERRORS):
        # Best effort: deploy's own run removes failed change sets of its stack, and says so.
        return

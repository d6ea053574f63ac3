"""Review of a change set before execution: both witnesses of danger, the report files, and the guard's verdict.

The change set says what CloudFormation plans; the offline prediction (deployed template and parameters against
the new ones) catches what the change set leaves out. Used by deploy, plan and execute alike.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer import ami, changeset, report, report_markdown, security_changes
from deployer.clients import aws_call
from deployer.errors import ApprovalRequired, AwsApiError
from deployer.guard import Allowances, Danger, allowed_ids, find_dangers, stateful_resources, unallowed
from deployer.inputs import parse_template
from deployer.prediction import Scope, parameter_values, predict, pseudo_parameters
from deployer.runtime import Context
from deployer.security_changes import Approval


@dataclass(frozen=True)
class Review:
    report: report.Report
    dangers: list[Danger]
    refused: list[Danger]  # the dangers nobody allowed
    allowed: list[str] = field(default_factory=list)
    # Dangers that lose no data (the AMI changing): shown, never refused.
    notices: list[str] = field(default_factory=list)


def _doc(body: Any, name: str) -> Mapping[str, Any]:
    # botocore hands back a parsed JSON template as a dict, and a YAML one as text.
    return body if isinstance(body, Mapping) else parse_template(str(body), name)


def deployed_template(ctx: Context, stack_id: str) -> Mapping[str, Any]:
    with aws_call(f"reading the deployed template of {stack_id}"):
        body = ctx.cfn.get_template(StackName=stack_id)["TemplateBody"]
    return _doc(body, f"deployed template of {stack_id}")


def change_set_template(ctx: Context, stack_id: str, change_set_id: str) -> Mapping[str, Any]:
    with aws_call(f"reading the template of change set {change_set_id}"):
        body = ctx.cfn.get_template(StackName=stack_id, ChangeSetName=change_set_id)["TemplateBody"]
    return _doc(body, f"template of change set {change_set_id}")


def given_values(parameters: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """ParameterKey -> value from a Parameters list; UsePreviousValue entries are left to the previous value."""
    return {
        str(p["ParameterKey"]): p.get("ParameterValue")
        for p in parameters
        if "ParameterKey" in p and not p.get("UsePreviousValue") and p.get("ParameterValue") is not None
    }


def assess(
    ctx: Context,
    described: changeset.ChangeSet,
    new_doc: Mapping[str, Any],
    new_parameters: Sequence[Mapping[str, Any]],
    stack: Mapping[str, Any] | None,
    allowances: Allowances,
    stack_name: str,
) -> Review:
    """Merge the change set's pages, predict replacements offline, find dangers and build the report.

    `stack` is the deployed stack for an update, None for a stack being created (nothing can be lost).
    """
    changes = report.merge_changes(described.changes)
    old_doc: Mapping[str, Any] | None = None
    old_scope: Scope | None = None
    predictions = []
    previous = {
        str(p["ParameterKey"]): p.get("ParameterValue") for p in (stack or {}).get("Parameters") or []
    }
    pseudo = pseudo_parameters(str((stack or {}).get("StackId") or described.stack_id), stack_name)
    new_scope = Scope(parameter_values(new_doc, given_values(new_parameters), previous), pseudo, new_doc)
    # The deployed template is needed to predict replacements and removals (a Condition turning false) of stateful
    # resources the new template still has, to know whether a removed resource was declared Retain / Snapshot, and
    # to compare the policies and rules a security change widens.
    removes = any(c.get("Action") == "Remove" for c in changes)
    wanted = stateful_resources(new_doc) or removes or security_changes.has_security_resources(new_doc)
    if stack is not None and wanted:
        old_doc = deployed_template(ctx, str(stack["StackId"]))
        old_scope = Scope(parameter_values(old_doc, previous), pseudo, old_doc)
        region = pseudo.get("AWS::Region", "us-east-1")
        predictions = predict(old_doc, old_scope, new_doc, new_scope, region)
    dangers = find_dangers(changes, predictions, stateful_resources(new_doc, old_doc))
    allowed = allowed_ids(dangers, allowances)
    notices = ami.danger_lines(ctx, new_doc, stack, new_parameters)
    current: Sequence[Mapping[str, Any]] = described.parameters or new_parameters
    built = report.Report(
        stack_name=stack_name,
        change_set_name=described.name,
        change_set_id=described.id,
        status=described.status,
        execution_status=described.execution_status,
        changes=changes,
        dangers=dangers,
        allowances=allowances,
        predictions=predictions,
        stack_id=described.stack_id,
        parameters=report.parameter_changes((stack or {}).get("Parameters") or [], current, new_doc, old_doc),
        execute_command=execute_command(ctx, stack_name, described.name),
        notices=notices,
        security=security_changes.security_changes(old_doc, old_scope, new_doc, new_scope),
    )
    return Review(built, dangers, unallowed(dangers, allowances), allowed, notices)


def execute_command(ctx: Context, stack_name: str, change_set_name: str) -> str:
    return ctx.command_for("execute", "--stack-name", stack_name, "--change-set-name", change_set_name)


def approved(ctx: Context, review: Review, level: Approval) -> bool:
    """--require-approval: security changes at that level need a yes on a terminal; without one, nobody can say it.

    False when the answer at the prompt is no (the change set is kept); raises ApprovalRequired off a terminal.
    """
    pending = security_changes.needs_approval(review.report.security, level)
    if not pending:
        return True
    command = review.report.execute_command
    if not ctx.stdin_is_tty:
        raise ApprovalRequired(
            f"refusing to execute change set {review.report.change_set_name}: {len(pending)} security change(s) "
            f"need approval (--require-approval {level.value}) and there is no terminal to ask; it is kept for review",
            hint=f"after reviewing them (the report lists each one), run: {command} --require-approval never",
        )
    try:
        answer = ctx.confirm(f"Approve the {len(pending)} security change(s) listed above? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def announce(ctx: Context, review: Review, json_file: Path | None, markdown_file: Path | None) -> None:
    ctx.say(f"Summary: {review.report.summary()}")
    for danger in review.dangers:
        verdict = f"refused unless {danger.flag}" if danger in review.refused else "allowed"
        ctx.say(f"  DANGER {danger.describe()}: {verdict}")
    for notice in review.notices:
        ctx.say(f"  DANGER {notice}")
    for change in review.report.security:
        ctx.say(f"  SECURITY {change.describe()}")
    for where in report_markdown.write(review.report, json_file=json_file, markdown_file=markdown_file):
        ctx.say(f"Wrote the change-set report to {where}")


def announce_no_changes(
    ctx: Context, stack_name: str, json_file: Path | None, markdown_file: Path | None
) -> None:
    """A review that found nothing still writes its files: a CI step that posts the report can rely on them."""
    empty = report.Report(stack_name, "", "", "NO_CHANGES", "", [])
    for where in report_markdown.write(empty, json_file=json_file, markdown_file=markdown_file):
        ctx.say(f"Wrote the change-set report to {where}")


def restore_policy(
    ctx: Context,
    stack_id: str,
    policy: Mapping[str, Any],
    *,
    failing: bool = False,
    opened: Sequence[str] = (),
    done: str = "Stack policy restored",
) -> bool:
    """Set the stack's policy back after an execution that opened it, also when that execution failed.

    If that fails, the policy stays open: a warning names what is open and prints the command that closes it. After
    a failed execution (`failing`) the execution's error stays the one reported and False is returned; otherwise
    the run fails with exit 5, since an open policy is not a success.
    """
    body = json.dumps(policy)
    try:
        with aws_call(f"setting the stack policy of {stack_id} back"):
            ctx.cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=body)
    except AwsApiError as err:
        still = f"still open for {', '.join(opened)}" if opened else "still open"
        command = shlex.join(
            [
                *("aws", "cloudformation", "set-stack-policy", "--stack-name", stack_id),
                *("--stack-policy-body", body, *ctx.connection),
            ]
        )
        ctx.say(
            f"WARNING: the stack policy could not be set back ({err.message}): it is {still}. Close it with:\n"
            f"  {command}"
        )
        if failing:
            return False
        err.hint = f"the stack policy is {still}: close it with the set-stack-policy command printed above"
        raise
    ctx.say(done)
    return True


def current_policy(ctx: Context, stack_id: str) -> dict[str, Any] | None:
    """The stack's policy now (None: it has none), to open, or to recognise an opening an earlier run left."""
    with aws_call(f"reading the stack policy of {stack_id}"):
        body = ctx.cfn.get_stack_policy(StackName=stack_id).get("StackPolicyBody")
    return json.loads(body) if body else None

"""The deploy and execute commands: read the stack, decide, act through a change set, report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer import changeset, failure_modes, identity, importing, policy_steps, review, timeline, validation
from deployer.clients import aws_call
from deployer.errors import BadInput, ChangeSetFailed, EmptyChangeSet, ExitCode, NeedsDecision
from deployer.events import hint_for
from deployer.guard import Allowances, refusal
from deployer.inputs import check_given_parameters, resolve_parameters
from deployer.options import DeployOptions, ExecuteOptions
from deployer.output import expect_changes
from deployer.preflight.command import preflight_gate
from deployer.runtime import Context
from deployer.stack_ops import (
    SUCCESS_OUTCOMES,
    change_set_started,
    execution_failure,
    failure,
    operation,
    print_root_cause_if_failed,
    read_stack,
    show_outputs,
    wait_until_settled,
)
from deployer.stack_policy import default_policy
from deployer.states import FAILURE_OUTCOMES, Action, decide, is_settled
from deployer.upload import needs_upload, upload_template

# A deploy re-decides after each wait, replace or continued rollback; more rounds than this means the stack keeps
# being changed by someone else.
MAX_ROUNDS = 4


def run_deploy(ctx: Context, opts: DeployOptions) -> ExitCode:
    # Names and values are checked before the first AWS call, so bad input fails fast even without credentials.
    check_given_parameters(opts.template, opts.parameters)
    preflight_done = False
    for _ in range(MAX_ROUNDS):
        stack = read_stack(ctx, opts.stack_name)
        status = str(stack["StackStatus"]) if stack else None
        decision = decide(status, opts.flags)
        ctx.say(
            f"Stack {opts.stack_name}: {status or 'does not exist'} -> {decision.action.value} ({decision.reason})"
        )
        if decision.action is Action.STOP:
            next_step = print_root_cause_if_failed(ctx, stack) if stack else None
            hint = f"run: {ctx.rerun(decision.suggest_flag)}" if decision.suggest_flag else None
            hint = hint or (f"run: {next_step}" if next_step else None)
            raise NeedsDecision(decision.reason, hint=hint)
        if decision.action is Action.WAIT:
            assert stack is not None
            settled = wait_until_settled(ctx, stack)
            if settled.stack["StackStatus"] in FAILURE_OUTCOMES:
                err = failure(ctx, settled.stack, settled.events)
                if opts.execute:  # a killed run's execution may have ended so, its policy still open
                    policy_steps.close_leftover(ctx, str(stack["StackId"]), failing=True)
                raise err
            continue
        # Every check on the inputs runs before the first call that changes anything.
        existing = (
            _parameter_names(stack) if decision.action in {Action.UPDATE, Action.CONTINUE_ROLLBACK} else None
        )
        parameters = resolve_parameters(opts.template, opts.parameters, existing)
        identity.refuse_new_stack_changes(opts.template, stack if existing is not None else None, parameters)
        if opts.import_existing_resources and importing.adopt_retained(
            ctx, opts, decision.action, parameters, stack
        ):
            continue  # the stack now holds the adopted resources: the next round updates it to the full template
        if (
            not preflight_done
        ):  # account checks before anything changes, a replace or continued rollback included
            preflight_gate(ctx, opts, None if decision.action is Action.REPLACE else stack)
            preflight_done = True
        if decision.action is Action.REPLACE:
            assert stack is not None
            _replace(ctx, stack, opts.role_arn)
            continue
        if decision.action is Action.CONTINUE_ROLLBACK:
            assert stack is not None
            _continue_rollback(ctx, stack, opts)
            continue
        change_set_type = "UPDATE" if decision.action is Action.UPDATE else "CREATE"
        return _deploy_change_set(ctx, opts, change_set_type, parameters, stack)
    raise NeedsDecision(f"stack {opts.stack_name} kept changing state while this run waited; run it again")


def _parameter_names(stack: dict[str, Any] | None) -> list[str]:
    return [p["ParameterKey"] for p in (stack or {}).get("Parameters") or []]


def _replace(ctx: Context, stack: dict[str, Any], role_arn: str | None) -> None:
    ctx.say(f"Deleting failed stack {stack['StackName']} ({stack['StackStatus']}) before creating it again")
    kwargs: dict[str, Any] = {
        "StackName": stack["StackId"],
        "ClientRequestToken": f"tap-deploy-{uuid.uuid4().hex}",
    }
    if role_arn:
        kwargs["RoleARN"] = role_arn
    result = operation(ctx, stack["StackId"], lambda: ctx.cfn.delete_stack(**kwargs))
    if result.stack["StackStatus"] != "DELETE_COMPLETE":
        raise failure(ctx, result.stack, result.events)


def _continue_rollback(ctx: Context, stack: dict[str, Any], opts: DeployOptions) -> None:
    kwargs: dict[str, Any] = {
        "StackName": stack["StackId"],
        "ClientRequestToken": f"tap-deploy-{uuid.uuid4().hex}",
    }
    if opts.skip_resources:
        kwargs["ResourcesToSkip"] = list(opts.skip_resources)
    if opts.role_arn:
        kwargs["RoleARN"] = opts.role_arn
    ctx.say(f"Continuing the failed rollback of {stack['StackName']}")
    result = operation(ctx, stack["StackId"], lambda: ctx.cfn.continue_update_rollback(**kwargs))
    if result.stack["StackStatus"] != "UPDATE_ROLLBACK_COMPLETE":
        err = failure(ctx, result.stack, result.events)
        err.hint = (
            err.hint or f"skip the resource that cannot roll back: {ctx.rerun('--skip-resources', 'ID')}"
        )
        raise err


def _deploy_change_set(
    ctx: Context,
    opts: DeployOptions,
    change_set_type: str,
    parameters: list[dict[str, Any]],
    stack: dict[str, Any] | None,
) -> ExitCode:
    # Flags that cannot apply to this stack are refused before anything is created, cleaned up or uploaded.
    request = changeset.request_for(opts, change_set_type, parameters)
    if stack is not None:  # an UPDATE, or a CREATE again on a REVIEW_IN_PROGRESS stack
        changeset.clean_up_stale(ctx.cfn, opts.stack_name, ctx.say)
    if needs_upload(opts.template.body):
        url = upload_template(ctx.s3(), opts.template.body, opts.s3_bucket, opts.s3_prefix)
        ctx.say(f"Uploaded the template ({opts.template.size:,} bytes) to {url}")
        request = request.uploaded(url)
    ctx.say(f"Creating {change_set_type} change set {request.name}")
    created = changeset.create(ctx.cfn, request)
    # Without a policy file, the template's stateful resources are protected from replacement and deletion.
    policy = opts.stack_policy or default_policy(opts.template.doc)
    settings = StackSettings(policy, opts.termination_protection)
    settings_if_executing = settings if opts.execute else None  # review mode changes nothing on the stack
    if created is None:
        review.announce_no_changes(ctx, opts.stack_name, opts.changeset_file, opts.report_file)
        return _no_changes(ctx, opts.fail_on_empty, None, stack, opts.outputs_file, settings_if_executing)
    change_set_id, _ = created
    ctx.progress.change_set = request.name
    ctx.progress.stack = opts.stack_name
    page = changeset.wait_until_created(ctx.cfn, change_set_id, ctx.pacer)
    if page["Status"] == "FAILED":
        reason = str(page.get("StatusReason", ""))
        if changeset.is_no_changes(reason):
            review.announce_no_changes(ctx, opts.stack_name, opts.changeset_file, opts.report_file)
            return _no_changes(
                ctx, opts.fail_on_empty, change_set_id, stack, opts.outputs_file, settings_if_executing
            )
        validation.explain_change_set(ctx.cfn, ctx.say, change_set_id)
        raise ChangeSetFailed(
            f"change set {request.name} failed: {reason}",
            hint=hint_for(reason) or "it is kept for inspection and removed by the next run",
        )
    if page["Status"] != "CREATE_COMPLETE":
        raise ChangeSetFailed(
            f"change set {request.name} is {page['Status']} (deleted by someone else while it was being created?)",
            hint="run the same command again",
        )
    described = changeset.describe(ctx.cfn, change_set_id)
    _print_change_set(ctx, described)
    checked = review.assess(
        ctx,
        described,
        opts.template.doc,
        parameters,
        stack if change_set_type == "UPDATE" else None,
        Allowances.of(opts.allow_replacement, opts.allow_removal),
        opts.stack_name,
    )
    review.announce(ctx, checked, opts.changeset_file, opts.report_file)
    command = ctx.command_for("execute", "--stack-name", opts.stack_name, "--change-set-name", described.name)
    if checked.refused:
        raise refusal(checked.refused, described.name, command)
    if not opts.execute:
        ctx.say(f"Review mode: nothing executed. To execute this change set later:\n  {command}")
        return ExitCode.CHANGES_PRESENT
    if not review.approved(ctx, checked, opts.require_approval) or not _confirmed(ctx, opts, described.name):
        ctx.say(f"Not executed. The change set is kept; to execute it later:\n  {command}")
        return ExitCode.CHANGES_PRESENT
    return _execute(
        ctx,
        described,
        opts.stack_name,
        change_set_type == "CREATE",
        failure_modes.execute_kwargs(change_set_type == "CREATE", opts.on_failure, opts.disable_rollback),
        settings,
        opts.outputs_file,
        checked.allowed,
    )


def _confirmed(ctx: Context, opts: DeployOptions, change_set_name: str) -> bool:
    """On a terminal, ask before executing (unless --yes); in CI there is nobody to ask, so the command decides."""
    if opts.assume_yes or not ctx.stdin_is_tty:
        return True
    try:
        answer = ctx.confirm(f"Execute change set {change_set_name} on stack {opts.stack_name}? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def _print_change_set(ctx: Context, described: changeset.ChangeSet) -> None:
    ctx.say(f"Change set {described.name}: {len(described.changes)} resource change(s)")
    for line in changeset.format_changes(described.changes):
        ctx.say(line)


def _no_changes(
    ctx: Context,
    fail_on_empty: bool,
    change_set_id: str | None,
    stack: dict[str, Any] | None,
    outputs_file: Path | None,
    settings: StackSettings | None,
) -> ExitCode:
    if change_set_id:
        changeset.delete(ctx.cfn, change_set_id)
    ctx.progress.change_set = None
    ctx.say("No changes: the stack already matches the template and parameters")
    if stack and stack.get("StackStatus") != "REVIEW_IN_PROGRESS":
        # A template that did not change is no reason to ignore --stack-policy-file / --termination-protection,
        # nor to leave open a policy that a killed run opened.
        if settings:
            policy_steps.settle(ctx, stack["StackId"], settings.stack_policy)
            _protect(ctx, stack, settings)
        # Later CI steps read the outputs file whether or not this run changed anything.
        show_outputs(ctx, stack, outputs_file)
    if fail_on_empty:
        raise EmptyChangeSet("no changes to deploy, and --fail-on-empty-changeset was given")
    return ExitCode.SUCCESS


@dataclass(frozen=True)
class StackSettings:
    """What a deploy sets on the stack besides the change set itself."""

    stack_policy: dict[str, Any] | None = None
    termination_protection: bool = False


def _protect(ctx: Context, stack: dict[str, Any], settings: StackSettings) -> None:
    if not settings.termination_protection or stack.get("EnableTerminationProtection"):
        return
    with aws_call(f"turning termination protection on for {stack['StackId']}"):
        ctx.cfn.update_termination_protection(StackName=stack["StackId"], EnableTerminationProtection=True)
    ctx.say("Termination protection turned on")


def _execute(
    ctx: Context,
    described: changeset.ChangeSet,
    stack_name: str,
    creating: bool,
    rollback_kwargs: dict[str, Any],
    settings: StackSettings,
    outputs_file: Path | None,
    allowed: list[str] | None = None,
) -> ExitCode:
    # A new policy should already guard this update; a new stack can only take one once it exists. ExecuteChangeSet
    # has no StackPolicyDuringUpdateBody: an allowed replacement opens the policy for the named resources during
    # this execution only, and it is set back on every way out (a killed run's opening is closed by the next run).
    opening = None
    if not creating:
        opening = policy_steps.before_update(ctx, described.stack_id, settings.stack_policy, allowed or [])
    ctx.say(f"Executing change set {described.name}")
    expect_changes(ctx.reporter, described.changes)
    try:
        result = operation(
            ctx,
            described.stack_id,
            lambda: ctx.cfn.execute_change_set(
                ChangeSetName=described.id,
                ClientRequestToken=changeset.execute_token(described.id),
                **rollback_kwargs,
            ),
            f"executing change set {described.name} on stack {stack_name}",
            started=lambda: change_set_started(ctx, described.id, described.stack_id),
        )
    except BaseException:
        if opening:  # the first error is the one to report; a failed restore only adds a warning
            opening.close(ctx, failing=True)
        raise
    ctx.progress.change_set = None  # executed: whatever follows, it is not waiting to be executed
    timeline.write_after_execution(ctx, described.stack_id, stack_name)
    final = {"StackName": stack_name, **result.stack}
    if final["StackStatus"] not in SUCCESS_OUTCOMES or (
        creating and final["StackStatus"] == "DELETE_COMPLETE"
    ):
        # The root cause first, then (if the policy cannot be set back) the warning that says how to close it.
        err = execution_failure(ctx, final, result.events, creating)
        if opening:
            opening.close_after_failure(ctx, err)
        raise err
    policy_steps.after_execution(ctx, described.stack_id, opening, settings.stack_policy, creating=creating)
    _protect(ctx, final, settings)
    ctx.say(f"Stack {stack_name}: {final['StackStatus']}")
    show_outputs(ctx, final, outputs_file)
    return ExitCode.SUCCESS


def run_execute(ctx: Context, opts: ExecuteOptions) -> ExitCode:
    stack = read_stack(ctx, opts.stack_name)
    if stack is None:
        raise BadInput(
            f"stack {opts.stack_name} does not exist, so it has no change set {opts.change_set_name}"
        )
    described = changeset.describe(ctx.cfn, opts.change_set_name, opts.stack_name)
    if described.execution_status == "EXECUTE_IN_PROGRESS" or not is_settled(stack["StackStatus"]):
        # Resuming an interrupted execute (or waiting out someone else's operation) before deciding anything.
        settled = wait_until_settled(ctx, stack)
        if settled.stack["StackStatus"] in FAILURE_OUTCOMES:
            err = failure(ctx, settled.stack, settled.events)
            # The interrupted run may have died with the policy open for this execution.
            policy_steps.close_leftover(ctx, str(stack["StackId"]), failing=True)
            raise err
        stack = settled.stack
        described = changeset.describe(ctx.cfn, opts.change_set_name, opts.stack_name)
    if described.execution_status == "EXECUTE_COMPLETE":
        # An earlier run executed it and was stopped (timeout, Ctrl-C, killed) before it could set the policy the
        # executed template asks for, or close the opening it made: both are done now.
        ctx.say(f"Change set {described.name} was already executed; stack is {stack['StackStatus']}")
        executed = review.change_set_template(ctx, described.stack_id, described.id)
        policy_steps.settle(ctx, described.stack_id, default_policy(executed))
        _protect(ctx, stack, StackSettings(termination_protection=opts.termination_protection))
        show_outputs(ctx, stack, opts.outputs_file)
        return ExitCode.SUCCESS
    settings = StackSettings(termination_protection=opts.termination_protection)
    if described.empty:
        return _no_changes(ctx, opts.fail_on_empty, described.id, stack, opts.outputs_file, settings)
    if described.status == "FAILED":
        raise ChangeSetFailed(
            f"change set {described.name} failed: {described.reason}", hint=hint_for(described.reason)
        )
    if described.execution_status != "AVAILABLE":
        raise ChangeSetFailed(
            f"change set {described.name} cannot be executed (status {described.status}, execution "
            f"{described.execution_status}{': ' + described.reason if described.reason else ''})",
            hint="the stack changed since it was made; create a new one: "
            + ctx.command_for("plan", "--stack-name", opts.stack_name, "--template-file", "TEMPLATE"),
        )
    _print_change_set(ctx, described)
    creating = stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    # The same guard as deploy and plan: a reviewed change set is not trusted to be harmless because it was named.
    new_doc = review.change_set_template(ctx, described.stack_id, described.id)
    checked = review.assess(
        ctx,
        described,
        new_doc,
        described.parameters,
        None if creating else stack,
        Allowances.of(opts.allow_replacement, opts.allow_removal),
        opts.stack_name,
    )
    review.announce(ctx, checked, None, None)
    if checked.refused:
        command = ctx.command_for(
            "execute", "--stack-name", opts.stack_name, "--change-set-name", described.name
        )
        raise refusal(checked.refused, described.name, command)
    if not review.approved(ctx, checked, opts.require_approval):
        ctx.say(
            f"Not executed. The change set is kept; to execute it later:\n  {checked.report.execute_command}"
        )
        return ExitCode.CHANGES_PRESENT
    # execute takes no policy file: the stack ends with the default policy of the template it executed, on an update
    # as on a create, so a stateful resource the change set adds is protected and one it removes is not named.
    settings = StackSettings(default_policy(new_doc), opts.termination_protection)
    return _execute(
        ctx,
        described,
        opts.stack_name,
        creating,
        failure_modes.execute_kwargs_for_reviewed(ctx.cfn, described.id, creating, opts.disable_rollback),
        settings,
        opts.outputs_file,
        checked.allowed,
    )

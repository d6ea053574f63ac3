"""Where preflight meets the CLI: `deploy.py preflight`, and the gate deploy/plan pass before their change set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer import changeset
from deployer.errors import ExitCode, PreflightFailed
from deployer.inputs import check_given_parameters, resolve_parameters
from deployer.options import DeployOptions
from deployer.preflight.model import Report, Status
from deployer.preflight.online import ChangeSetInputs, new_name
from deployer.preflight.runner import make_context, run_checks
from deployer.runtime import Context
from deployer.stack_ops import read_stack
from deployer.upload import needs_upload, upload_template

FORMATS = ("table", "json")


def _creating(stack: Mapping[str, Any] | None) -> bool:
    return stack is None or stack.get("StackStatus") == "REVIEW_IN_PROGRESS"


def _inputs(ctx: Context, opts: DeployOptions, stack: Mapping[str, Any] | None) -> ChangeSetInputs:
    """Deploy's change-set request for this stack; BadInput (exit 2, before any check) when a flag cannot apply."""
    creating = _creating(stack)
    existing = None if creating else [p["ParameterKey"] for p in (stack or {}).get("Parameters") or []]
    parameters = resolve_parameters(opts.template, opts.parameters, existing)
    request = changeset.request_for(opts, "CREATE" if creating else "UPDATE", parameters, new_name())
    body = opts.template.body

    def url() -> str | None:
        if not needs_upload(body):
            return None
        return upload_template(ctx.s3(), body, opts.s3_bucket, opts.s3_prefix)

    return ChangeSetInputs(request, template_url=url, pacer=ctx.pacer)


def _report(ctx: Context, report: Report, fmt: str) -> None:
    if fmt == "json":
        ctx.say(report.to_json())
        return
    for line in report.lines():
        ctx.say(line)


def _raise_if_failed(report: Report, then: str) -> None:
    if report.failed:
        failed = [f.message for f in report.findings if f.status is Status.FAIL]
        raise PreflightFailed(
            f"preflight: {len(failed)} check(s) failed, {then}: {failed[0]}"
            + (" ..." if len(failed) > 1 else ""),
            hint="apply the fix printed under each FAIL line, then run again",
        )


def run_preflight_command(ctx: Context, opts: DeployOptions, fmt: str = "table") -> ExitCode:
    """`deploy.py preflight`: every check, including the online validation through a throw-away change set."""
    check_given_parameters(opts.template, opts.parameters)
    stack = read_stack(ctx, opts.stack_name)
    inputs = _inputs(ctx, opts, stack)
    pre = make_context(ctx.client, opts.template.doc, opts.parameters, stack, ctx.region)
    report = run_checks(pre, inputs)
    _report(ctx, report, fmt)
    _raise_if_failed(report, "nothing was changed")
    return ExitCode.SUCCESS


def preflight_gate(ctx: Context, opts: DeployOptions, stack: Mapping[str, Any] | None) -> None:
    """Before deploy/plan create their change set: the read-only checks, unless --skip-preflight.

    The online validation is left out here: the change set deploy creates next is that same validation, and a
    FAILED one already stops the run (exit 7) before anything is executed.
    """
    if not opts.preflight:
        ctx.say("Preflight skipped (--skip-preflight)")
        return
    pre = make_context(ctx.client, opts.template.doc, opts.parameters, stack, ctx.region)
    report = run_checks(pre)
    # deploy's output is about the change; the full table stays with the preflight command.
    for line in report.problem_lines():
        ctx.say(line)
    _raise_if_failed(report, "no change set was created")

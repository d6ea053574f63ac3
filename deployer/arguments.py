"""Argument parsing and every input check that needs no AWS call."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from deployer.capabilities import check_capabilities
from deployer.clients import DEFAULT_REGION
from deployer.common_options import add_connection_options, add_timeline_option, add_waiting_options
from deployer.errors import EXIT_CODE_HELP, BadInput, ExitCode
from deployer.failure_modes import ON_FAILURE_CHOICES, check_failure_flags
from deployer.fleet.command import add_manifest_parser
from deployer.fleet.stackset_command import add_stackset_parser
from deployer.inputs import (
    ParameterFile,
    check_given_parameters,
    load_parameter_file,
    load_stack_policy,
    load_template,
    parse_key_values,
    validate_tags,
)
from deployer.options import DeployOptions
from deployer.preflight.catalogue import CHECKS, help_text
from deployer.preflight.command import FORMATS
from deployer.regions import check_region
from deployer.security_changes import Approval
from deployer.states import Flags
from deployer.timeline import add_timeline_parser
from deployer.upload import check_upload_possible

LOGICAL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
NAME_PATTERN = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
ARN_EXAMPLES = {
    "--role-arn": "arn:aws:iam::123456789012:role/NAME",
    "--notification-arns": "arn:aws:sns:REGION:123456789012:TOPIC",
    "--rollback-alarm": "arn:aws:cloudwatch:REGION:123456789012:alarm:NAME",
}
ARN_PATTERNS = {
    "--role-arn": re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/.+"),
    "--notification-arns": re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+"),
    "--rollback-alarm": re.compile(r"arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+"),
}


def _epilog() -> str:
    codes = "\n".join(f"  {int(code):>3}  {text}" for code, text in EXIT_CODE_HELP.items())
    return f"exit codes:\n{codes}\n\nFull reference: docs/deploy.md"


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description="Create or update CloudFormation stacks through change sets, from CI or a terminal.",
        epilog=_epilog(),
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    aws = common.add_argument_group("AWS connection")
    aws.add_argument("--region", default=DEFAULT_REGION, help=f"AWS region (default {DEFAULT_REGION})")
    aws.add_argument("--profile", help="named profile from the AWS config files")
    add_connection_options(aws)
    common.add_argument("--stack-name", required=True, help="the stack to act on")
    add_waiting_options(common.add_argument_group("waiting"))

    deploy_help = "create or update the stack through a change set, wait, print outputs"
    deploy = sub.add_parser(
        "deploy",
        parents=[common],
        help=deploy_help,
        description=deploy_help,
        epilog=_epilog(),
        formatter_class=fmt,
    )
    _add_deploy_arguments(deploy, review=False)
    plan_help = (
        "review mode: create the change set, print it, do not execute (same as deploy --no-execute-changeset)"
    )
    plan = sub.add_parser(
        "plan", parents=[common], help=plan_help, description=plan_help, epilog=_epilog(), formatter_class=fmt
    )
    _add_deploy_arguments(plan, review=True)

    preflight_help = (
        f"check the account before deploying (read-only): {', '.join(check.name for check in CHECKS)} (the "
        "last through a change set that is deleted unexecuted); exit 13 on a FAIL"
    )
    preflight = sub.add_parser(
        "preflight",
        parents=[common],
        help=preflight_help,
        description=preflight_help,
        epilog=f"{help_text()}\n\n{_epilog()}",
        formatter_class=fmt,
    )
    # Deploy's own declaration (plan's: nothing is executed), so a deploy command line is checked as it is and a
    # new deploy flag is preflight's too. The change-set settings (--on-failure, --revert-drift, ...) shape the
    # change set the online validation sends; flags about executing or waiting change nothing here.
    _add_deploy_arguments(preflight, review=True)
    preflight.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table: one line per check with its fix, then a summary (default); json: one document for CI",
    )

    exec_help = "execute a change set made earlier by plan / --no-execute-changeset, and wait"
    execute = sub.add_parser(
        "execute",
        parents=[common],
        help=exec_help,
        description=exec_help,
        epilog=_epilog(),
        formatter_class=fmt,
    )
    execute.add_argument("--change-set-name", required=True, help="name (or ARN) printed by the review run")
    execute.add_argument(
        "--disable-rollback", action="store_true", help="keep failed resources for debugging"
    )
    execute.add_argument(
        "--termination-protection", action="store_true", help="turn termination protection on"
    )
    execute.add_argument(
        "--fail-on-empty-changeset", action="store_true", help="exit 9 if it holds no changes"
    )
    execute.add_argument("--outputs-file", type=Path, help="write the stack outputs as JSON to this file")
    add_timeline_option(execute)
    add_guard_arguments(execute)

    status_help = "print the stack's status, parameters, change sets and outputs (read-only)"
    status = sub.add_parser(
        "status",
        parents=[common],
        help=status_help,
        description=status_help,
        epilog=_epilog(),
        formatter_class=fmt,
    )
    status.add_argument("--outputs-file", type=Path, help="write the stack outputs as JSON to this file")

    delete_help = "delete the stack and wait (needs --yes when stdin is not a terminal)"
    delete = sub.add_parser(
        "delete",
        parents=[common],
        help=delete_help,
        description=delete_help,
        epilog=_epilog(),
        formatter_class=fmt,
    )
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument(
        "--retain-resources",
        nargs="+",
        default=[],
        metavar="LOGICAL_ID",
        help="for a DELETE_FAILED stack: keep these resources instead of deleting them",
    )
    delete.add_argument("--role-arn", help="IAM role CloudFormation assumes to delete the resources")

    drift_help = "detect drift and print each drifted property (exit 0 in sync, 11 drifted, 12 unknown)"
    drift = sub.add_parser(
        "drift",
        parents=[common],
        help=drift_help,
        description=drift_help,
        epilog=_epilog(),
        formatter_class=fmt,
    )
    drift.add_argument(
        "--report-file", type=Path, help="write the drift (every differing property) as Markdown to this file"
    )
    add_timeline_parser(sub, common, _epilog())
    add_manifest_parser(sub, _epilog())
    add_stackset_parser(sub, _epilog())
    return parser


def _add_stack_inputs(p: argparse.ArgumentParser) -> None:
    """What a change set is made of: the template, parameters, tags, capabilities and stack settings."""
    p.add_argument("--template-file", type=Path, required=True, help="CloudFormation template (JSON or YAML)")
    p.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="parameter values; they win over --parameters-file",
    )
    p.add_argument(
        "--parameters-file",
        type=Path,
        help='JSON: [{"ParameterKey":..,"ParameterValue":..}], {"Parameters":{..},"Tags":{..},'
        '"StackPolicy":{..}} (CodePipeline template configuration) or a flat {"Key": "Value"}',
    )
    p.add_argument(
        "--tags", nargs="+", default=[], metavar="KEY=VALUE", help="stack tags (win over the file's)"
    )
    p.add_argument(
        "--capabilities",
        nargs="+",
        default=[],
        metavar="CAPABILITY",
        help="acknowledge CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND",
    )
    p.add_argument("--role-arn", help="IAM role CloudFormation assumes for the stack operation")
    p.add_argument(
        "--notification-arns", nargs="+", default=[], metavar="ARN", help="SNS topics for stack events"
    )
    p.add_argument(
        "--rollback-alarm",
        action="append",
        default=[],
        metavar="ARN",
        help="CloudWatch alarm that rolls the operation back when it fires (repeatable)",
    )
    p.add_argument(
        "--stack-policy-file", type=Path, help="stack policy JSON (wins over the file's StackPolicy)"
    )
    p.add_argument(
        "--s3-bucket", help="bucket for templates over 51,200 bytes (uploaded, passed as TemplateURL)"
    )
    p.add_argument("--s3-prefix", help="key prefix inside --s3-bucket")


def _add_deploy_arguments(p: argparse.ArgumentParser, *, review: bool) -> None:
    _add_stack_inputs(p)
    p.add_argument(
        "--skip-preflight",
        action="store_true",
        help="do not run the preflight checks (see the preflight command) before creating the change set",
    )
    p.add_argument("--outputs-file", type=Path, help="write the stack outputs as JSON to this file")
    p.add_argument(
        "--changeset-file", type=Path, help="write the change set (every change) as JSON to this file"
    )
    p.add_argument(
        "--fail-on-empty-changeset",
        action="store_true",
        help="exit 9 when there is nothing to change (default: no changes is success)",
    )
    p.add_argument(
        "--disable-rollback",
        action="store_true",
        help="keep failed resources for debugging (on a create, the same as --on-failure DO_NOTHING)",
    )
    p.add_argument(
        "--on-failure",
        choices=ON_FAILURE_CHOICES,
        help="a stack being created whose create fails: DELETE it (CI: leaves no dead stack), ROLLBACK "
        "(AWS default, leaves ROLLBACK_COMPLETE) or DO_NOTHING; on an update only ROLLBACK / DO_NOTHING "
        "(= --disable-rollback)",
    )
    p.add_argument(
        "--revert-drift",
        action="store_true",
        help="update only: the change set also restores drifted resources to the template's values "
        "(DeploymentMode REVERT_DRIFT)",
    )
    p.add_argument("--termination-protection", action="store_true", help="turn termination protection on")
    p.add_argument(
        "--replace-failed-stack",
        action="store_true",
        help="a stack whose first create failed (ROLLBACK_COMPLETE etc.) is deleted and created again",
    )
    p.add_argument(
        "--continue-update-rollback",
        action="store_true",
        help="an UPDATE_ROLLBACK_FAILED stack: continue the rollback, then deploy",
    )
    p.add_argument(
        "--skip-resources",
        nargs="+",
        default=[],
        metavar="LOGICAL_ID",
        help="with --continue-update-rollback: resources to skip",
    )
    p.add_argument(
        "--report-file",
        type=Path,
        metavar="PATH",
        help="write the change-set report as Markdown (for a pull-request comment) to this file",
    )
    add_guard_arguments(p)
    p.set_defaults(review=review)
    if not review:
        p.add_argument(
            "--no-execute-changeset",
            dest="review",
            action="store_true",
            help="review mode: create and print the change set, exit 8 (changes), 0 (none) or 10 (refused)",
        )
        p.add_argument(
            "--yes",
            action="store_true",
            help="on a terminal, execute the change set without asking (off a terminal nothing is asked)",
        )
        add_timeline_option(p)
        p.add_argument(
            "--import-existing-resources",
            action="store_true",
            help="a stack being created first adopts, through an IMPORT change set, the retained buckets, log "
            "groups and KMS key an earlier stack left under the names this template gives them (their contents "
            "are kept), then is updated to the full template; on a stack that exists it does nothing",
        )


def deploy_options(args: argparse.Namespace) -> DeployOptions:
    """Every check that needs no AWS call; raises BadInput."""
    template = load_template(args.template_file)
    from_file = load_parameter_file(args.parameters_file) if args.parameters_file else ParameterFile()
    parameters = {**from_file.parameters, **parse_key_values(args.parameter_overrides, "parameter override")}
    check_given_parameters(template, parameters)
    tags = {**from_file.tags, **parse_key_values(args.tags, "tag")}
    validate_tags(tags)
    policy = load_stack_policy(args.stack_policy_file) if args.stack_policy_file else from_file.stack_policy
    capabilities = check_capabilities(template.doc, args.capabilities)
    check_upload_possible(template.body, args.s3_bucket)
    _check_arns("--role-arn", [args.role_arn] if args.role_arn else [])
    _check_arns("--notification-arns", args.notification_arns)
    _check_arns("--rollback-alarm", args.rollback_alarm)
    if args.skip_resources and not args.continue_update_rollback:
        raise BadInput("--skip-resources only applies with --continue-update-rollback")
    check_failure_flags(args.on_failure, args.disable_rollback, args.revert_drift)
    import_existing = getattr(args, "import_existing_resources", False)  # deploy only
    if import_existing and args.review:
        raise BadInput(
            "--import-existing-resources cannot be combined with --no-execute-changeset: the import must be "
            "executed before the rest of the stack can be reviewed",
            hint="run deploy with --import-existing-resources (it asks before importing on a terminal)",
        )
    return DeployOptions(
        stack_name=args.stack_name,
        template=template,
        parameters=parameters,
        tags=tags,
        capabilities=capabilities,
        role_arn=args.role_arn,
        notification_arns=args.notification_arns,
        rollback_alarms=args.rollback_alarm,
        stack_policy=policy,
        execute=not args.review,
        fail_on_empty=args.fail_on_empty_changeset,
        disable_rollback=args.disable_rollback,
        termination_protection=args.termination_protection,
        flags=Flags(args.replace_failed_stack, args.continue_update_rollback),
        skip_resources=args.skip_resources,
        s3_bucket=args.s3_bucket,
        s3_prefix=args.s3_prefix,
        outputs_file=args.outputs_file,
        changeset_file=args.changeset_file,
        report_file=args.report_file,
        allow_replacement=allowances(args.allow_replacement),
        allow_removal=allowances(args.allow_removal),
        assume_yes=getattr(args, "yes", False),  # plan has no --yes: it never executes
        preflight=not args.skip_preflight,
        on_failure=args.on_failure,
        revert_drift=args.revert_drift,
        import_existing_resources=import_existing,
        require_approval=Approval(args.require_approval),
    )


def add_guard_arguments(p: argparse.ArgumentParser) -> None:
    guard = p.add_argument_group(
        "data-loss guard (stateful resources: S3 buckets, KMS keys, log groups, Retain)"
    )
    guard.add_argument(
        "--allow-replacement",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help=f"allow replacing this stateful resource (repeatable; also acknowledges Conditional); without it "
        f"the change set is kept and the run exits {int(ExitCode.DATA_LOSS_REFUSED)}",
    )
    guard.add_argument(
        "--allow-removal",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help="allow removing this stateful resource from the stack, also when its Condition turns false "
        "(repeatable; also acknowledges a possible removal under a Condition undecidable offline)",
    )
    p.add_argument(
        "--require-approval",
        choices=[a.value for a in Approval],
        default=Approval.BROADENING.value,
        help="which security changes (IAM statements, key / bucket / topic policies, security-group rules) need a "
        "yes before executing: never, broadening (default: those that let more in) or any-change; on a terminal "
        f"it asks, without one it refuses with exit {int(ExitCode.APPROVAL_REQUIRED)}; plan only reports them",
    )


def allowances(values: list[str]) -> tuple[str, ...]:
    bad = [v for v in values if not LOGICAL_ID.fullmatch(v)]
    if bad:
        raise BadInput(
            f"{bad[0]!r} is not a logical resource id",
            hint="give the id exactly as in the template or the report, like StaticContentBucket",
        )
    return tuple(dict.fromkeys(values))


def _check_arns(flag: str, values: list[str]) -> None:
    bad = [v for v in values if not ARN_PATTERNS[flag].fullmatch(v)]
    if bad:
        raise BadInput(
            f"{flag}: {', '.join(bad)} is not a valid ARN for this option",
            hint=f"give the full ARN, like {ARN_EXAMPLES[flag]}",
        )


def check_common(args: argparse.Namespace, stdin_is_tty: bool) -> None:
    if not NAME_PATTERN.fullmatch(args.stack_name):
        raise BadInput(
            f"stack name {args.stack_name!r}: start with a letter; letters, digits and '-', 128 at most"
        )
    check_region(args.region)
    if args.max_attempts < 1:
        raise BadInput("--max-attempts must be at least 1")
    if args.poll_interval < 0 or args.max_poll_interval < args.poll_interval:
        raise BadInput("poll intervals: 0 <= --poll-interval <= --max-poll-interval")
    if args.command == "delete" and not args.yes and not stdin_is_tty:
        raise BadInput("refusing to delete without --yes when stdin is not a terminal; nothing was deleted")


def connection_args(args: argparse.Namespace) -> list[str]:
    out = []
    if args.region != DEFAULT_REGION:
        out += ["--region", args.region]
    if args.profile:
        out += ["--profile", args.profile]
    if args.endpoint_url:
        out += ["--endpoint-url", args.endpoint_url]
    return out

"""The flags of deploy, plan and preflight, and those execute shares with them: each declared once here, and read
into DeployOptions / ExecuteOptions by one mapping, which a manifest's stacks go through too.

To add a deploy flag: declare it in `add_deploy_arguments` (or `add_stack_inputs`), read it in `deploy_options`,
give DeployOptions its field (deployer/options.py), and decide in deployer/fleet/manifest_flags.py whether a manifest
carries it. A flag execute takes too is declared in SHARED_FLAGS and read in `_shared_settings`, for both commands.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.capabilities import check_capabilities
from deployer.common_options import add_timeline_option
from deployer.errors import BadInput, ExitCode
from deployer.failure_modes import ON_FAILURE_CHOICES, check_failure_flags
from deployer.inputs import (
    ParameterFile,
    Template,
    check_given_parameters,
    load_parameter_file,
    load_stack_policy,
    load_template,
    parse_key_values,
    validate_tags,
)
from deployer.options import DeployOptions, ExecuteOptions
from deployer.security_changes import Approval
from deployer.states import Flags
from deployer.upload import check_upload_possible

LOGICAL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
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

# Flags that deploy shares with execute (which runs a change set deploy or plan made) and, for --outputs-file, with
# status: one declaration each, so the commands cannot come to disagree about what a flag does.
SHARED_FLAGS: dict[str, dict[str, Any]] = {
    "--outputs-file": {"type": Path, "help": "write the stack outputs as JSON to this file"},
    "--fail-on-empty-changeset": {
        "action": "store_true",
        "help": "exit 9 when there is nothing to change (default: no changes is success)",
    },
    "--disable-rollback": {
        "action": "store_true",
        "help": "keep failed resources for debugging (on a create, the same as --on-failure DO_NOTHING)",
    },
    "--termination-protection": {"action": "store_true", "help": "turn termination protection on"},
}


def add_shared_flag(p: argparse.ArgumentParser, flag: str) -> None:
    p.add_argument(flag, **SHARED_FLAGS[flag])


def add_stack_inputs(p: argparse.ArgumentParser) -> None:
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


def add_deploy_arguments(p: argparse.ArgumentParser, *, review: bool) -> None:
    """deploy's flags (review: plan's and preflight's, which execute nothing)."""
    add_stack_inputs(p)
    p.add_argument(
        "--skip-preflight",
        action="store_true",
        help="do not run the preflight checks (see the preflight command) before creating the change set",
    )
    add_shared_flag(p, "--outputs-file")
    p.add_argument(
        "--changeset-file", type=Path, help="write the change set (every change) as JSON to this file"
    )
    add_shared_flag(p, "--fail-on-empty-changeset")
    add_shared_flag(p, "--disable-rollback")
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
    add_shared_flag(p, "--termination-protection")
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


def add_execute_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--change-set-name", required=True, help="name (or ARN) printed by the review run")
    for flag in (
        "--disable-rollback",
        "--termination-protection",
        "--fail-on-empty-changeset",
        "--outputs-file",
    ):
        add_shared_flag(p, flag)
    add_timeline_option(p)
    add_guard_arguments(p)


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


def flag_defaults() -> argparse.Namespace:
    """Every deploy flag as a command line that gives none of them reads it: where a manifest's stack starts, so a
    flag added to deploy's declaration reaches the manifest with its default."""
    parser = argparse.ArgumentParser(add_help=False)
    add_deploy_arguments(parser, review=False)
    # Not parse_args([]): --template-file is required on a command line, and a manifest's stack has its own.
    return argparse.Namespace(**{action.dest: parser.get_default(action.dest) for action in parser._actions})


@dataclass(frozen=True)
class StackInputs:
    """What deploy reads from the files and KEY=VALUE lists it is given (a manifest reads its own, per stack)."""

    template: Template
    parameters: dict[str, str | None]
    tags: dict[str, str]
    capabilities: list[str]
    stack_policy: dict[str, Any] | None = None


def read_stack_inputs(args: argparse.Namespace) -> StackInputs:
    template = load_template(args.template_file)
    from_file = load_parameter_file(args.parameters_file) if args.parameters_file else ParameterFile()
    parameters = {**from_file.parameters, **parse_key_values(args.parameter_overrides, "parameter override")}
    check_given_parameters(template, parameters)
    tags = {**from_file.tags, **parse_key_values(args.tags, "tag")}
    validate_tags(tags)
    policy = load_stack_policy(args.stack_policy_file) if args.stack_policy_file else from_file.stack_policy
    capabilities = check_capabilities(template.doc, args.capabilities)
    return StackInputs(template, parameters, tags, capabilities, policy)


def deploy_options(args: argparse.Namespace, inputs: StackInputs | None = None) -> DeployOptions:
    """Every check that needs no AWS call; raises BadInput. `inputs`: already read (a manifest's stack)."""
    given = inputs or read_stack_inputs(args)
    check_upload_possible(given.template.body, args.s3_bucket)
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
        template=given.template,
        parameters=given.parameters,
        tags=given.tags,
        capabilities=given.capabilities,
        role_arn=args.role_arn,
        notification_arns=args.notification_arns,
        rollback_alarms=args.rollback_alarm,
        stack_policy=given.stack_policy,
        execute=not args.review,
        flags=Flags(args.replace_failed_stack, args.continue_update_rollback),
        skip_resources=args.skip_resources,
        s3_bucket=args.s3_bucket,
        s3_prefix=args.s3_prefix,
        changeset_file=args.changeset_file,
        report_file=args.report_file,
        assume_yes=getattr(args, "yes", False),  # plan has no --yes: it never executes
        preflight=not args.skip_preflight,
        on_failure=args.on_failure,
        revert_drift=args.revert_drift,
        import_existing_resources=import_existing,
        **_shared_settings(args),
    )


def execute_options(args: argparse.Namespace) -> ExecuteOptions:
    return ExecuteOptions(args.stack_name, args.change_set_name, **_shared_settings(args))


def _shared_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The options set by the flags execute shares with deploy, read the same way for both."""
    return {
        "disable_rollback": args.disable_rollback,
        "termination_protection": args.termination_protection,
        "fail_on_empty": args.fail_on_empty_changeset,
        "outputs_file": args.outputs_file,
        "allow_replacement": allowances(args.allow_replacement),
        "allow_removal": allowances(args.allow_removal),
        "require_approval": Approval(args.require_approval),
    }


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

"""The command line's parser (deploy's flags are declared in deployer/deploy_flags.py) and the checks every
single-stack command makes before an AWS call."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from deployer import deploy_flags
from deployer.clients import DEFAULT_REGION
from deployer.common_options import add_connection_options, add_waiting_options
from deployer.errors import EXIT_CODE_HELP, BadInput
from deployer.fleet.command import add_manifest_parser
from deployer.fleet.stackset_command import add_stackset_parser
from deployer.preflight.catalogue import CHECKS, help_text
from deployer.preflight.command import FORMATS
from deployer.regions import check_region
from deployer.timeline import add_timeline_parser

NAME_PATTERN = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")


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
    deploy_flags.add_deploy_arguments(deploy, review=False)
    plan_help = (
        "review mode: create the change set, print it, do not execute (same as deploy --no-execute-changeset)"
    )
    plan = sub.add_parser(
        "plan", parents=[common], help=plan_help, description=plan_help, epilog=_epilog(), formatter_class=fmt
    )
    deploy_flags.add_deploy_arguments(plan, review=True)

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
    deploy_flags.add_deploy_arguments(preflight, review=True)
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
    deploy_flags.add_execute_arguments(execute)

    status_help = "print the stack's status, parameters, change sets and outputs (read-only)"
    status = sub.add_parser(
        "status",
        parents=[common],
        help=status_help,
        description=status_help,
        epilog=_epilog(),
        formatter_class=fmt,
    )
    deploy_flags.add_shared_flag(status, "--outputs-file")

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

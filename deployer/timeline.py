"""The `timeline` command and deploy/execute's --timeline-file: read a stack operation's events (paged), draw it
(deployer.timeline_model, deployer.timeline_render) and write one self-contained file.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from deployer import timeline_render
from deployer.clients import aws_call
from deployer.errors import BadInput, ExitCode
from deployer.events import Event
from deployer.output import duration
from deployer.timeline_model import Bar, Operation, Step, bars, critical_path, select_operation
from deployer.waiting import POLL_ERRORS, describe_stack

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

    from deployer.runtime import Context

SUFFIXES = (".html", ".htm", ".svg")


# ---- reading and writing ------------------------------------------------------------------------------------


def timeline_path(text: str) -> Path:
    """argparse type of --output / --timeline-file: checked before anything runs, so a long deploy cannot end
    with nowhere to write."""
    path = Path(text)
    if path.suffix.lower() not in SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text!r}: the timeline file name must end in .html or .svg")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r}: directory {str(path.parent)!r} does not exist; create it"
        )
    return path


def add_timeline_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, epilog: str
) -> None:
    about = (
        "draw the stack's last operation (or --operation) as a timeline from its events: one bar per resource, "
        "coloured by outcome, the critical path marked, failures labelled; one self-contained file (read-only)"
    )
    timeline = sub.add_parser(
        "timeline",
        parents=[common],
        help=about,
        description=about,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    timeline.add_argument(
        "--output",
        type=timeline_path,
        required=True,
        metavar="FILE.html|FILE.svg",
        help="the file to write: an HTML page with the SVG inline and a table, or the SVG alone",
    )
    timeline.add_argument(
        "--operation",
        metavar="ID",
        help="the operation to draw: its ClientRequestToken, or the event id of the stack event that starts it "
        "(default: the last operation)",
    )


def _events_newest_first(cfn: CloudFormationClient, stack_id: str) -> Iterable[Event]:
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        yield from page.get("StackEvents", [])


def write(path: Path, operation: Operation) -> tuple[list[Bar], list[Step]]:
    """Render the operation to `path` (HTML with the SVG inline, or the SVG alone, by its suffix)."""

    drawn = bars(operation)
    path_bars = critical_path(drawn)
    if path.suffix.lower() == ".svg":
        text = timeline_render.svg(operation, drawn, path_bars, standalone=True)
    else:
        text = timeline_render.html(operation, drawn, path_bars)
    path.write_text(text, encoding="utf-8")
    return drawn, path_bars


def _summary(path: Path, operation: Operation, drawn: list[Bar], path_bars: list[Step]) -> str:
    total = duration((operation.ended - operation.started).total_seconds())
    chain = " -> ".join(b.logical_id for b, _ in path_bars) or "(none)"
    return (
        f"Wrote the timeline of {operation.stack_name}'s {operation.status} operation ({len(drawn)} resources, "
        f"{total}) to {path}; critical path: {chain}"
    )


def run_timeline(ctx: Context, stack_name: str, output: Path, wanted: str | None) -> ExitCode:
    with aws_call(f"reading stack {stack_name}"):
        stack = describe_stack(ctx.cfn, stack_name)
    if stack is None:
        raise BadInput(f"stack {stack_name} does not exist (in this region/account)")
    with aws_call(f"reading the events of {stack_name}"):
        operation = select_operation(
            _events_newest_first(ctx.cfn, str(stack["StackId"])), wanted, str(stack["StackName"])
        )
    drawn, path_bars = write(output, operation)
    ctx.say(_summary(output, operation, drawn, path_bars))
    return ExitCode.SUCCESS


def write_after_execution(ctx: Context, stack_id: str, stack_name: str) -> None:
    """--timeline-file: draw the operation that just ended, success or failure. A failure to read or write only
    warns: what the execution did is the news, and the exit code stays its own."""
    path = ctx.timeline_file
    if path is None:
        return
    try:
        operation = select_operation(_events_newest_first(ctx.cfn, stack_id), None, stack_name)
        drawn, path_bars = write(path, operation)
    except (*POLL_ERRORS, OSError, BadInput) as err:
        ctx.say(f"warning: the timeline was not written to {path}: {' '.join(str(err).split())}")
        return
    ctx.say(_summary(path, operation, drawn, path_bars))

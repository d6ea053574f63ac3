"""The connection and waiting options every command shares, declared once for the single-stack commands, the
manifest and StackSets (whose region and credentials may come from elsewhere)."""

from __future__ import annotations

import argparse

from deployer.clients import DEFAULT_MAX_ATTEMPTS
from deployer.durations import DEFAULT_TIMEOUT, parse_duration
from deployer.events import DEFAULT_FIRST_INTERVAL, DEFAULT_MAX_INTERVAL
from deployer.timeline import timeline_path


def add_connection_options(group: argparse._ArgumentGroup) -> None:
    """--endpoint-url, --retry-mode, --max-attempts (region and profile are each command's own)."""
    group.add_argument(
        "--endpoint-url", help="custom endpoint for every AWS call (an emulator, a VPC endpoint)"
    )
    group.add_argument(
        "--retry-mode",
        choices=("standard", "adaptive"),
        default="standard",
        help="botocore retry mode (default standard; adaptive also rate-limits the client)",
    )
    group.add_argument(
        "--max-attempts",
        type=int,
        default=DEFAULT_MAX_ATTEMPTS,
        help=f"botocore attempts per call, first try included (default {DEFAULT_MAX_ATTEMPTS})",
    )


def add_waiting_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--timeout",
        type=parse_duration,
        default=parse_duration(DEFAULT_TIMEOUT),
        help=f"stop waiting after this long: 90s, 30m, 2h; bare number = minutes (default "
        f"{DEFAULT_TIMEOUT}); the stack operation itself is left running",
    )
    group.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_FIRST_INTERVAL,
        help=f"shortest poll interval in seconds (default {DEFAULT_FIRST_INTERVAL:g}); between the two, the "
        "interval is a tenth of the time waited so far",
    )
    group.add_argument(
        "--max-poll-interval",
        type=float,
        default=DEFAULT_MAX_INTERVAL,
        help=f"longest poll interval in seconds (default {DEFAULT_MAX_INTERVAL:g})",
    )


def add_timeline_option(parser: argparse.ArgumentParser) -> None:
    """--timeline-file of the commands that execute a change set (deploy and execute)."""
    parser.add_argument(
        "--timeline-file",
        type=timeline_path,
        metavar="FILE.html|FILE.svg",
        help="when the execution ends (success or failure), draw it as a timeline to this file: one bar per "
        "resource, coloured by outcome, the critical path marked (see the timeline command)",
    )

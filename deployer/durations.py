"""Durations on the command line ("90s", "30m", "2h"), shared by every command that waits."""

from __future__ import annotations

import argparse
import re

DEFAULT_TIMEOUT = "60m"


def parse_duration(text: str) -> float:
    """'90s', '30m', '2h', or a bare number of minutes (as --timeout-in-minutes in the AWS CLI)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 30m or 2h")
    value, unit = float(match.group(1)), match.group(2) or "m"
    return value * {"s": 1, "m": 60, "h": 3600}[unit]

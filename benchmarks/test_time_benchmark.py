"""Figures for the test suite: the wall time of each tier (`pytest tests/TIER`) on pytest-xdist's workers, one per
core, as `make test` runs them, and with --one-process in a single process too. Prints figures beside the goals;
asserts nothing.

    .venv/bin/python benchmarks/test_time_benchmark.py [--one-process] [--tier unit|deploy|integration]

The goals, on a two-core machine: the unit tier within 30 s, the deploy and integration tiers within 60 s each.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"unit": 30.0, "deploy": 60.0, "integration": 60.0}
WORKERS = ["-n", "auto", "--dist", "worksteal"]  # as the Makefile's test target
SUMMARY = re.compile(r"^=* ?(\d+ passed.*?) in [\d.]+s", re.MULTILINE)


def _run(tier: str, workers: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(
        # A tier is its directory (its marker is given by the directory): naming the directory collects that tier
        # alone, where `-m TIER` would import every tier's modules to read their markers first.
        [sys.executable, "-m", "pytest", f"tests/{tier}", "-q", "-p", "no:cacheprovider", *workers],
        cwd=ROOT,
        env={**os.environ, "TAP_REQUIRE_TIERS": ""},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    found = SUMMARY.search(done.stdout)
    return elapsed, done.returncode, found.group(1) if found else done.stdout.strip().splitlines()[-1:][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--one-process", action="store_true", help="also time each tier without pytest-xdist")
    parser.add_argument("--tier", choices=sorted(GOALS), action="append", help="only this tier (repeatable)")
    args = parser.parse_args(argv)
    modes = [("workers", WORKERS)] + ([("one process", [])] if args.one_process else [])
    print(f"{os.cpu_count()} cores; wall time per tier, pytest's start-up and collection included")
    print(f"  {'tier':<12} {'mode':<12} {'seconds':>8} {'goal':>6}  result")
    for tier in args.tier or list(GOALS):
        for mode, workers in modes:
            elapsed, code, summary = _run(tier, workers)
            verdict = "" if code == 0 else f"  (pytest exited {code})"
            print(f"  {tier:<12} {mode:<12} {elapsed:8.1f} {GOALS[tier]:6.0f}  {summary}{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Figures for generate.py: how long building, rendering, linting and writing the docs take per template, and how
the template's size compares with CloudFormation's limits. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/generate_benchmark.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.docs import render_page
from generator.lint import lint_template
from generator.pipeline import INLINE_LIMIT, RESOURCE_LIMIT, S3_LIMIT
from generator.render import render, template_dict
from templates import REGISTRY


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per step; the median is printed (default 3)"
    )
    args = parser.parse_args(argv)
    print(f"median of {args.repeat} run(s) per step, milliseconds")
    print(f"  {'template':<12} {'build':>7} {'render':>7} {'lint':>8} {'docs':>7}  size / limits")
    for name, builder in REGISTRY.items():
        build_ms, template = _timed(builder, args.repeat)
        render_ms, body = _timed(partial(render, template), args.repeat)
        lint_ms, findings = _timed(partial(lint_template, body), args.repeat)
        data = template_dict(template)
        size = len(body.encode("utf-8"))
        docs_ms, _ = _timed(partial(render_page, name, data, size), args.repeat)
        minified = len(json.dumps(data, separators=(",", ":")).encode("utf-8"))
        print(
            f"  {name:<12} {build_ms:7.0f} {render_ms:7.0f} {lint_ms:8.0f} {docs_ms:7.0f}  "
            f"{size:,} bytes ({size / INLINE_LIMIT:.0%} of the {INLINE_LIMIT:,} inline limit, "
            f"{size / S3_LIMIT:.1%} of the {S3_LIMIT:,} S3 limit; minified {minified:,}), "
            f"{len(data['Resources'])}/{RESOURCE_LIMIT} resources, {len(findings)} lint finding(s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

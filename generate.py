"""Build every registered CloudFormation template, lint it, and write output/ (or check it is current)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cfnspec.parameters import PLACEHOLDER_MARK
from generator import template_diff
from generator.lint import DEFAULT_REGIONS, suppressions
from generator.pipeline import (
    INLINE_LIMIT,
    RESOURCE_LIMIT,
    S3_LIMIT,
    Artifact,
    BuildError,
    Registry,
    build,
    compare,
    write,
)

EXIT_OK = 0
EXIT_FAILED = 1  # a template failed to build, has a lint finding, an invalid example file, or is too large
EXIT_USAGE = 2  # bad arguments, e.g. --only with an unknown name
EXIT_STALE = 3  # --check: output/ differs from what the templates produce

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"

DESCRIPTION = f"""\
Build every registered CloudFormation template and write, for each NAME:
  output/NAME.json                   the template (2-space indented, deterministic bytes)
  output/NAME.md                     the hand-off page: resources, parameters, outputs, CLI commands
  output/NAME.parameters.json        every parameter at its default (template-configuration format)
  output/NAME.ENV.parameters.json    one per sample environment (generator/environments.py)

Every template is linted with cfn-lint (errors, warnings and informational rules) for each --region
(default: {", ".join(DEFAULT_REGIONS)}). Each finding is printed as "RULE path: message" and fails the run;
the only way to accept one is a suppression in the resource's own Metadata
({{"cfn-lint": {{"config": {{"ignore_checks": ["RULE"]}}}}}}) with the reason next to it. The example
parameter files are validated against the template's parameter constraints, its Rules, and the Auto Scaling
sizes (MinSize <= DesiredCapacity <= MaxSize); a placeholder value (one containing "{PLACEHOLDER_MARK}") is allowed
in an example file and listed, and deploy.py refuses it.

One line per template gives its resources against the {RESOURCE_LIMIT}-resource limit and its size against the
{INLINE_LIMIT:,}-byte limit for an inline template body. Over that limit the run warns that deploying needs
an S3 upload (deploy.py --s3-bucket); over {S3_LIMIT:,} bytes (or {RESOURCE_LIMIT} resources) it fails.
"""

EPILOG = f"""\
exit codes:
  {EXIT_OK}  success (or, with --check, output/ is up to date)
  {EXIT_FAILED}  a template failed to build, has a lint finding, an example parameter file breaks its
     constraints, or it exceeds the {S3_LIMIT:,}-byte or {RESOURCE_LIMIT}-resource limit
  {EXIT_USAGE}  usage error, e.g. --only with a name that is not registered, or --diff with an unknown ref
  {EXIT_STALE}  --check only: a file is missing or stale, or output/ holds a file no template produces
"""


def _parser(names: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="build and lint without writing; fail (exit 3) naming every missing or stale file, and "
        "every file "
        "in the output directory that no template produces",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help="directory to write or check (default: output/ next to generate.py)",
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        help=f"only this template (registered: {', '.join(names) or 'none'})",
    )
    parser.add_argument(
        "--region",
        dest="regions",
        action="append",
        metavar="REGION",
        help=f"lint for this region; repeat for several (default: {', '.join(DEFAULT_REGIONS)})",
    )
    parser.add_argument(
        "--diff",
        metavar="REF",
        help="build nothing: list the files under the output directory changed since git REF and, per "
        "template, the resources, parameters, outputs, rules and conditions added, removed or changed "
        "(with the changed property paths); exit 2 for an unknown REF",
    )
    return parser


def _report(artifact: Artifact, out: TextIO) -> None:
    print(artifact.size_line(), file=out)
    for logical_id, rule, reason in suppressions(artifact.template):
        print(
            f"  suppressed in Metadata: {rule} on Resources/{logical_id}: {reason or '(no reason)'}", file=out
        )
    if artifact.findings:
        print(f"{artifact.name}: {len(artifact.findings)} cfn-lint finding(s):", file=out)
        for finding in artifact.findings:
            print(f"  {finding}", file=out)
    for file_name, names in artifact.placeholders.items():
        print(
            f"{artifact.name}: {file_name} holds placeholders to replace before deploying (deploy.py refuses "
            f"them): {', '.join(names)}",
            file=out,
        )
    for file_name, problems in artifact.parameter_file_problems.items():
        print(f"{artifact.name}: {file_name} breaks the template's parameter constraints:", file=out)
        for problem in problems:
            print(f"  {problem}", file=out)


def run(
    registry: Registry,
    output_dir: Path,
    *,
    check: bool = False,
    only: str | None = None,
    regions: Sequence[str] = DEFAULT_REGIONS,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Build, lint, and write or check; return the exit code. Tests call this with their own registry."""
    if only is not None and only not in registry:
        print(
            f"generate.py: unknown template {only!r}; registered: {', '.join(registry) or 'none'}", file=err
        )
        return EXIT_USAGE
    names = [only] if only is not None else list(registry)
    artifacts = []
    failed = False
    for name in names:
        try:
            artifact = build(name, registry[name], regions)
        except BuildError as error:
            print(str(error), file=err)
            failed = True
            continue
        _report(artifact, out)
        failed |= artifact.failed
        artifacts.append(artifact)
    expected = {file_name: content for a in artifacts for file_name, content in a.files.items()}

    if check:
        if failed:
            return EXIT_FAILED
        # With --only, other templates' files are expected to be there, so nothing counts as unexpected.
        stale = compare(expected, output_dir, report_unexpected=only is None)
        for label, files in (
            ("missing", stale.missing),
            ("stale", stale.stale),
            ("not produced by any template", stale.unexpected),
        ):
            for file_name in files:
                print(f"{output_dir / file_name}: {label}", file=err)
        if stale:
            print("output is out of date: run generate.py (and remove files no template produces)", file=err)
            return EXIT_STALE
        print(f"{output_dir}: up to date ({len(expected)} files)", file=out)
        return EXIT_OK

    if failed:
        print("nothing written: fix the problems above", file=err)
        return EXIT_FAILED
    written = write(expected, output_dir)
    print(f"{output_dir}: {len(written)} of {len(expected)} files written, the rest unchanged", file=out)
    leftovers = compare(expected, output_dir, report_unexpected=only is None).unexpected
    for file_name in leftovers:
        print(f"{output_dir / file_name}: not produced by any template; remove it", file=err)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader gone before the last buffered line shows here, not in Python's exit
        return code
    except BrokenPipeError:
        # `generate.py --diff REF | head`: the reader has what it wanted. Python would print a traceback, and
        # then another when it flushes stdout at exit; point stdout at devnull and end as a success instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: list[str] | None) -> int:
    from templates import REGISTRY  # looked up at call time, so tests can substitute the registry

    args = _parser(list(REGISTRY)).parse_args(argv)
    if args.diff is not None:
        return template_diff.run(args.diff, args.output_dir, sys.stdout, sys.stderr)
    return run(
        REGISTRY,
        args.output_dir,
        check=args.check,
        only=args.only,
        regions=args.regions or DEFAULT_REGIONS,
    )


if __name__ == "__main__":
    sys.exit(main())

"""Build, lint and check every registered template once; compare with or write to the output directory."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troposphere import Template

from cfnspec.limits import INLINE_TEMPLATE_LIMIT as INLINE_LIMIT
from cfnspec.limits import RESOURCE_LIMIT
from cfnspec.limits import S3_TEMPLATE_LIMIT as S3_LIMIT
from cfnspec.parameters import placeholders
from cfnspec.resource_kinds import UnknownKind
from generator.checks import validate_parameter_file
from generator.docs import render_page
from generator.examples import parameter_files
from generator.lint import Finding, lint_template, unexplained_suppressions
from generator.permissions import policy_file_name, render_policy
from generator.preflight_checks import UnlistedCheck
from generator.render import render, template_dict

Registry = Mapping[str, Callable[[], Template]]


class BuildError(RuntimeError):
    """A registered builder raised; the message names the template."""


@dataclass(frozen=True)
class Artifact:
    name: str
    template: dict[str, Any]
    files: dict[str, str]  # file name in the output directory -> content
    findings: list[Finding]
    parameter_file_problems: dict[str, list[str]]
    # Example-file values a team must replace (e.g. a certificate ARN): allowed in an example, never deployed.
    placeholders: dict[str, list[str]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.files[f"{self.name}.json"].encode("utf-8"))

    @property
    def resource_count(self) -> int:
        return len(self.template.get("Resources", {}))

    @property
    def too_large(self) -> bool:
        return self.size > S3_LIMIT or self.resource_count > RESOURCE_LIMIT

    @property
    def failed(self) -> bool:
        return bool(self.findings or self.parameter_file_problems or self.too_large)

    def size_line(self) -> str:
        share = 100 * self.size / INLINE_LIMIT
        line = (
            f"{self.name}: {self.resource_count}/{RESOURCE_LIMIT} resources, "
            f"{self.size:,}/{INLINE_LIMIT:,} bytes ({share:.0f}% of the inline limit)"
        )
        if self.size > S3_LIMIT:
            line += f"; ERROR: over the {S3_LIMIT:,}-byte limit even for a template in S3"
        elif self.size > INLINE_LIMIT:
            line += (
                "; WARNING: over the inline limit, deploying needs an S3 upload "
                "(deploy.py --s3-bucket BUCKET)"
            )
        if self.resource_count > RESOURCE_LIMIT:
            line += f"; ERROR: more than {RESOURCE_LIMIT} resources"
        return line


def build(name: str, builder: Callable[[], Template], regions: Sequence[str]) -> Artifact:
    try:
        t = builder()
    except Exception as err:  # any failure of a builder is reported as that template's failure
        raise BuildError(f"{name}: building the template failed: {type(err).__name__}: {err}") from err
    body = render(t)
    data = template_dict(t)
    examples = parameter_files(name, data)
    problems, to_replace = {}, {}
    for file_name, content in examples.items():
        example = json.loads(content)
        found = validate_parameter_file(data, example)
        if found:
            problems[file_name] = found
        if placeholders(example.get("Parameters", {})):
            to_replace[file_name] = placeholders(example["Parameters"])
    files = {f"{name}.json": body, **examples}
    try:
        files[f"{name}.md"] = render_page(name, data, len(body.encode("utf-8")))
    except (
        UnknownKind,
        UnlistedCheck,
    ) as err:  # a table that does not cover the template: its message says the fix
        raise BuildError(f"{name}: writing the ops page failed: {err}") from err
    files[policy_file_name(name)] = render_policy(data)
    findings = sorted([*lint_template(body, regions), *unexplained_suppressions(data)])
    return Artifact(name, data, files, findings, problems, to_replace)


@dataclass(frozen=True)
class Staleness:
    missing: list[str]
    stale: list[str]
    unexpected: list[str]

    def __bool__(self) -> bool:
        return bool(self.missing or self.stale or self.unexpected)


def compare(expected: Mapping[str, str], output_dir: Path, report_unexpected: bool) -> Staleness:
    missing, stale = [], []
    for file_name, content in sorted(expected.items()):
        path = output_dir / file_name
        if not path.is_file():
            missing.append(file_name)
        elif path.read_bytes() != content.encode("utf-8"):
            stale.append(file_name)
    unexpected = []
    if report_unexpected and output_dir.is_dir():
        unexpected = sorted(
            p.name
            for p in output_dir.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.name not in expected
        )
    return Staleness(missing, stale, unexpected)


def write(expected: Mapping[str, str], output_dir: Path) -> list[str]:
    """Write the files whose content changed (unchanged files keep their timestamps); return their names."""
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, content in sorted(expected.items()):
        path = output_dir / file_name
        data = content.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            written.append(file_name)
    return written

"""cfn-lint through its Python API, informational rules included.

Suppressions are whatever the template's own resource Metadata declares
(`{"cfn-lint": {"config": {"ignore_checks": [...]}}}`): cfn-lint honours them itself, so every finding
returned here counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cfnlint.api import ManualArgs, lint

DEFAULT_REGIONS = ("us-east-1",)


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    rule_id: str
    message: str
    severity: str

    def __str__(self) -> str:
        return f"{self.rule_id} {self.path}: {self.message}"


def _path_of(match: Any) -> str:
    # Matches from rules carry the JSON path of the offending node; template parse errors only a line number.
    path = getattr(match, "path", None)
    if path:
        return "/".join(str(part) for part in path)
    return f"line {match.linenumber}"


def lint_template(body: str, regions: Sequence[str] = DEFAULT_REGIONS) -> list[Finding]:
    """Every finding of every rule (errors, warnings and informational) for the rendered template body."""
    config = ManualArgs(include_checks=["I"], regions=list(regions or DEFAULT_REGIONS))
    findings = {
        Finding(
            path=_path_of(m),
            rule_id=m.rule.id,
            message=m.message,
            severity=str(getattr(m.rule, "severity", "")),
        )
        for m in lint(body, config=config)
    }
    return sorted(findings)


def suppressions(template: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(logical id, rule id) for every cfn-lint check a resource's Metadata switches off."""
    for logical_id, resource in template.get("Resources", {}).items():
        config = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {})
        for rule_id in config.get("ignore_checks", []):
            yield logical_id, rule_id

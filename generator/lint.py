"""cfn-lint through its Python API, informational rules included.

Suppressions are whatever the template's own resource Metadata declares, each with the reason a reviewer
can judge next to it:

    {"cfn-lint": {"config": {"ignore_checks": ["W3005"]}, "reasons": {"W3005": "why it cannot apply"}}}

cfn-lint honours `ignore_checks` itself, so every finding it returns counts; a suppression without a reason is
reported as a finding of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cfnlint.api import ManualArgs, lint

from cfnspec.limits import DEFAULT_REGION

DEFAULT_REGIONS = (DEFAULT_REGION,)


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


def suppressions(template: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(logical id, rule id, reason or "") for every cfn-lint check a resource's Metadata switches off."""
    for logical_id, resource in template.get("Resources", {}).items():
        metadata = resource.get("Metadata", {}).get("cfn-lint", {})
        reasons = metadata.get("reasons", {})
        for rule_id in metadata.get("config", {}).get("ignore_checks", []):
            yield logical_id, rule_id, str(reasons.get(rule_id, "")).strip()


def unexplained_suppressions(template: Mapping[str, Any]) -> list[Finding]:
    """A finding for every suppression that does not say why the check cannot apply."""
    return [
        Finding(
            path=f"Resources/{logical_id}/Metadata/cfn-lint",
            rule_id=rule_id,
            message=(
                f"{rule_id} is suppressed without a reason: add "
                f'"reasons": {{"{rule_id}": "why this check cannot apply here"}} next to "config"'
            ),
            severity="error",
        )
        for logical_id, rule_id, reason in suppressions(template)
        if not reason
    ]

"""What a preflight check reports: one finding per line, PASS / WARN / FAIL / INFO, and the fix for each non-pass."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum


class Status(StrEnum):
    PASS = "PASS"
    INFO = "INFO"  # reported for the record; nothing to do
    WARN = "WARN"  # could not be decided (e.g. access denied) or worth a look; never fails the run
    FAIL = "FAIL"  # the deployment would fail; exit 13 before anything changes


@dataclass(frozen=True)
class Finding:
    check: str  # the check family, e.g. "kms-key"
    status: Status
    message: str
    fix: str | None = None  # the command or the exact statement to add, for every non-pass


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    api_calls: int = 0

    @property
    def failed(self) -> bool:
        return any(f.status is Status.FAIL for f in self.findings)

    def count(self, status: Status) -> int:
        return sum(1 for f in self.findings if f.status is status)

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s.value}" for s in Status)
        verdict = "problems found: the deployment would fail" if self.failed else "no blocking problem"
        return f"Preflight: {counts}; {verdict}"

    def lines(self) -> list[str]:
        """The printed table: one line per finding, its fix indented below it, then the summary."""
        return self._table(self.findings)

    def problem_lines(self) -> list[str]:
        """What deploy and plan print: only the WARN and FAIL lines with their fixes, then the summary.

        Before a change set, a PASS or INFO line is noise that hides the one line the user has to act on.
        """
        return self._table(tuple(f for f in self.findings if f.status in (Status.WARN, Status.FAIL)))

    def _table(self, findings: tuple[Finding, ...]) -> list[str]:
        width = max((len(f.check) for f in findings), default=5)
        out = []
        for f in findings:
            out.append(f"{f.status.value:<4}  {f.check:<{width}}  {f.message}")
            if f.fix and f.status is not Status.PASS:
                first, *rest = f.fix.splitlines()
                out.append(f"{'':<4}  {'':<{width}}  fix: {first}")
                out += [f"{'':<4}  {'':<{width}}       {line}" for line in rest]
        out.append(self.summary())
        return out

    def to_json(self) -> str:
        doc = {
            "findings": [{**asdict(f), "status": f.status.value} for f in self.findings],
            "summary": {s.value: self.count(s) for s in Status},
            "failed": self.failed,
            "apiCalls": self.api_calls,
        }
        return json.dumps(doc, indent=2)


def ordered(findings: Iterable[Finding], order: Sequence[str]) -> tuple[Finding, ...]:
    """Findings in the order the checks are listed (they finish in any order when run concurrently)."""
    rank = {name: i for i, name in enumerate(order)}
    return tuple(sorted(findings, key=lambda f: rank.get(f.check, len(rank))))

"""What a manifest run reports: one result per stack, the summary table, the review report, the resume hint."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deployer.errors import ExitCode

# Results that count as done: the stack needs nothing more from this manifest run.
# "drift unknown" is done too: the detection ran to its end, and one stack's answer must not stop the others'.
DONE = frozenset({"deployed", "no changes", "changes ready", "ok", "in sync", "drifted", "drift unknown"})


@dataclass
class StackResult:
    key: str
    region: str
    account: str = "?"
    result: str = "not started"  # deployed | no changes | changes ready | ok | in sync | drifted | drift unknown | failed | skipped | interrupted
    duration: float = 0.0
    changes: int | None = None
    detail: str = ""
    exit_code: ExitCode = ExitCode.SUCCESS
    change_list: list[Mapping[str, Any]] = field(default_factory=list)
    # plan: the stack's change-set report (deployer.report's Markdown, dangers first), for the manifest's report.
    report_markdown: str = ""

    @property
    def done(self) -> bool:
        return self.result in DONE


def summary_table(results: Sequence[StackResult]) -> list[str]:
    header = ("stack", "region", "account", "result", "duration", "changes")
    rows = [
        (
            r.key,
            r.region,
            r.account,
            r.result,
            f"{r.duration:.1f}s" if r.duration else "-",
            "-" if r.changes is None else str(r.changes),
        )
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += [
        f"{r.key}: {r.detail}" for r in results if r.detail and (not r.done or r.result == "drift unknown")
    ]
    return lines


def resume_command(argv: Sequence[str], results: Sequence[StackResult]) -> str | None:
    """The same command, limited with --only to the stacks that did not finish; None when all did."""
    unfinished = [r.key for r in results if not r.done]
    if not unfinished:
        return None
    kept: list[str] = []
    skipping = False
    for arg in argv:
        if arg == "--only":
            skipping = True
            continue
        if skipping and not arg.startswith("-"):
            continue
        skipping = False
        kept.append(arg)
    return shlex.join(["deploy.py", *kept, "--only", *unfinished])


def exit_code(results: Sequence[StackResult]) -> ExitCode:
    """The first failure in the table (dependency order) decides; review mode with changes gives 8, as plan does."""
    for r in results:
        if r.result in {"failed", "interrupted"}:
            return r.exit_code
    if any(r.result in {"skipped", "not started"} for r in results):
        return next((r.exit_code for r in results if r.exit_code), ExitCode.STACK_FAILED)
    if any(r.result == "changes ready" for r in results):
        return ExitCode.CHANGES_PRESENT
    if any(r.result == "drifted" for r in results):
        return ExitCode.DRIFTED  # "exit 11 if any drifted", even when another stack's drift is unknown
    if any(r.result == "drift unknown" for r in results):
        return ExitCode.DRIFT_UNKNOWN
    return ExitCode.SUCCESS


def change_rows(changes: Sequence[Mapping[str, Any]]) -> list[str]:
    """A change list as a Markdown table, for a stack whose run ended before its change-set report was written."""
    if not changes:
        return ["No resource changes."]
    rows = ["| Action | Logical id | Type | Replacement |", "|---|---|---|---|"]
    for item in changes:
        change = item.get("ResourceChange", item)
        rows.append(
            f"| {change.get('Action', '?')} | {change.get('LogicalResourceId', '?')} | "
            f"{change.get('ResourceType', '?')} | {change.get('Replacement', '-') or '-'} |"
        )
    return rows


def review_report(manifest_name: str, results: Sequence[StackResult]) -> str:
    lines = [f"# Review of {manifest_name}", "", *summary_table_markdown(results)]
    for r in results:
        lines += ["", f"## {r.key} ({r.region}, account {r.account})", "", f"Result: {r.result}"]
        if r.detail:
            lines.append(f"Detail: {r.detail}")
        if r.report_markdown:
            lines += ["", r.report_markdown.rstrip("\n")]
        elif r.result in {"changes ready", "no changes"}:
            lines += ["", *change_rows(r.change_list)]
    return "\n".join(lines) + "\n"


def summary_table_markdown(results: Sequence[StackResult]) -> list[str]:
    rows = ["| Stack | Region | Account | Result | Changes |", "|---|---|---|---|---|"]
    for r in results:
        changes = "-" if r.changes is None else str(r.changes)
        rows.append(f"| {r.key} | {r.region} | {r.account} | {r.result} | {changes} |")
    return rows

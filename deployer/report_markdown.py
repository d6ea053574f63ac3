"""The change-set report's files: Markdown made for a pull-request comment (and GitHub's step summary), and JSON.

Dangerous changes first, long tables folded in <details>, no line longer than LINE_LIMIT (values are cut with a
visible marker), the whole kept under GitHub's comment size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deployer.report import ParameterChange, Report
    from deployer.security_changes import SecurityChange

VALUE_LIMIT = 120  # characters of one before/after value in the Markdown
LINE_LIMIT = 1000  # no Markdown line is longer than this
REPORT_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
TRUNCATED = "…(truncated)"
FOLD_AFTER = 10  # tables with more rows than this are folded


def _cell(value: Any, limit: int = VALUE_LIMIT, *, code: bool = False) -> str:
    if value is None:
        return "–"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - len(TRUNCATED)] + TRUNCATED
    # A pipe would end the table cell, even inside a code span; outside one, "<" could open an HTML tag.
    text = text.replace("|", "\\|")
    return text.replace("`", "'") if code else text.replace("<", "&lt;").replace(">", "&gt;")


def _code(value: Any) -> str:
    text = _cell(value, code=True)
    return f"`{text}`" if text != "–" else text


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 2] + " |" for line in lines]


def _folded(summary: str, body: list[str], fold: bool) -> list[str]:
    if not fold:
        return [*body, ""]
    # The blank lines let Markdown inside <details> render as Markdown (tables) on GitHub.
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _where(report: Report) -> str:
    where = [
        f"account `{report.account}`" if report.account else "",
        f"region `{report.region}`" if report.region else "",
    ]
    return ", ".join(w for w in where if w)


def _action(row: Mapping[str, Any]) -> str:
    found_by = row.get("FoundBy")
    action = _cell(row.get("Action"))
    if not found_by:
        return action
    possible = "possible, its Condition undecided offline; " if row.get("Condition") else ""
    return f"{action} ({possible}found by {_cell(', '.join(found_by))}; not listed by the change set)"


def to_markdown(report: Report) -> str:
    where = _where(report)
    if not report.change_set_name:
        head = f"### No changes for stack `{report.stack_name}`" + (f" ({where})" if where else "")
        return f"{head}\n\nThe stack already matches the template and parameters.\n"
    lines = [
        f"### Change set `{report.change_set_name}` for stack `{report.stack_name}`",
        "",
        *([f"Stack `{report.stack_name}` in {where}.", ""] if where else []),
        f"**{report.summary()}**",
        "",
    ]
    if report.execute_command:
        lines += ["To execute this change set:", "", "```", report.execute_command, "```", ""]
    lines += _dangers_section(report)
    if report.notices:
        lines += [
            "#### :warning: Notices",
            "",
            *[f"- {_cell(n, LINE_LIMIT - 2)}" for n in report.notices],
            "",
        ]
    lines += _security_section(report.security)
    lines += _parameters_section(report.parameters)
    rows = [
        [
            _action(c),
            _code(c.get("LogicalResourceId")),
            _cell(c.get("ResourceType")),
            _cell(c.get("Replacement")),
            _cell(", ".join(c.get("Scope") or []) or None),
            _cell(c.get("PolicyAction")),
        ]
        for c in report.rows()
    ]
    lines += ["#### Resource changes", ""]
    if rows:
        table = _table(["Action", "Logical id", "Type", "Replacement", "Scope", "PolicyAction"], rows)
        lines += _folded(f"{len(rows)} resource changes", table, len(rows) > FOLD_AFTER)
    else:
        lines += ["No resource changes (parameters, outputs, tags or notification settings only).", ""]
    detailed = [c for c in report.changes if c.get("Details")]
    if detailed:
        lines += ["#### Property changes", ""]
    budget = REPORT_LIMIT - sum(len(line) + 1 for line in lines)
    for index, change in enumerate(detailed):
        section = _property_section(change)
        size = sum(len(line) + 1 for line in section)
        if size > budget:
            lines += [f"*{len(detailed) - index} more resources with property changes: {TRUNCATED}*", ""]
            break
        budget -= size
        lines += section
    return "\n".join(lines).rstrip("\n") + "\n"


def _security_section(changes: Sequence[SecurityChange]) -> list[str]:
    if not changes:
        return []
    rows = [
        [
            _code(c.logical_id),
            _cell(c.resource_type),
            _code(c.where),
            _cell(c.kind + (" (0.0.0.0/0 or ::/0)" if c.open_to_world else "")),
            "**broadening**" if c.broadening else "no",
            _code(c.before),
            _code(c.after),
        ]
        for c in changes
    ]
    table = _table(["Resource", "Type", "Where", "What", "Broadening", "Before", "After"], rows)
    return [
        "#### :lock: Security changes",
        "",
        "IAM statements, key, bucket and topic policies and security-group rules that this change set adds, "
        "removes or changes (deployed template against the new one).",
        "",
        *_folded(f"{len(rows)} security changes", table, len(rows) > FOLD_AFTER),
    ]


def _parameters_section(changes: Sequence[ParameterChange]) -> list[str]:
    if not changes:
        return []
    rows = [[_code(c.name), _code(c.before), _code(c.after)] for c in changes]
    return ["#### Parameters that change", "", *_table(["Parameter", "Before", "After"], rows), ""]


def _dangers_section(report: Report) -> list[str]:
    if not report.dangers:
        return ["No stateful resource is replaced or removed.", ""]
    rows = [
        [
            _code(d.logical_id),
            _cell(d.resource_type),
            _cell(d.kind),
            _cell(", ".join(d.properties) or None),
            _cell(", ".join(d.sources)),
            "allowed" if report.allowed(d) else _code(d.flag),
        ]
        for d in report.dangers
    ]
    return [
        "#### :warning: Dangerous changes",
        "",
        "Stateful resources that this change set replaces or removes. Execution is refused unless each one is "
        "allowed.",
        "",
        *_table(["Resource", "Type", "Danger", "Forced by", "Found by", "Allow with"], rows),
        "",
    ]


def _property_section(change: Mapping[str, Any]) -> list[str]:
    rows = []
    for detail in change.get("Details") or []:
        target = detail.get("Target") or {}
        name = target.get("Path") or target.get("Name") or target.get("Attribute")
        rows.append(
            [
                _code(name),
                _cell(target.get("RequiresRecreation")),
                _cell(detail.get("ChangeSource")),
                _code(target.get("BeforeValue")),
                _code(target.get("AfterValue")),
            ]
        )
    summary = (
        f"{_cell(change.get('Action'))} <code>{_cell(change.get('LogicalResourceId'))}</code> "
        f"({_cell(change.get('ResourceType'))}), replacement: {_cell(change.get('Replacement'))}"
    )
    table = _table(["Property", "Requires recreation", "Change source", "Before", "After"], rows)
    return _folded(summary, table, True)


def write(report: Report, *, json_file: Path | None, markdown_file: Path | None) -> list[str]:
    """Write the files asked for, and append to GitHub's step summary when it is set; returns where."""
    written: list[str] = []
    if json_file:
        json_file.write_text(
            json.dumps(report.to_json(), indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
        written.append(str(json_file))
    markdown = to_markdown(report)
    if markdown_file:
        markdown_file.write_text(markdown, encoding="utf-8")
        written.append(str(markdown_file))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
        written.append("the GitHub step summary")
    return written

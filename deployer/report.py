"""The change-set report: one data model, written as JSON (--changeset-file) and Markdown (--report-file).

The Markdown is made for a pull-request comment: dangerous changes first, long tables folded in <details>, and
no line longer than LINE_LIMIT (values are cut with a visible marker), the whole kept under GitHub's comment size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.guard import REMOVAL, REPLACEMENT, Allowances, Danger, Prediction

VALUE_LIMIT = 120  # characters of one before/after value in the Markdown
LINE_LIMIT = 1000  # no Markdown line is longer than this
REPORT_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
TRUNCATED = "…(truncated)"
FOLD_AFTER = 10  # tables with more rows than this are folded


def _detail_key(detail: Mapping[str, Any]) -> tuple[str, ...]:
    target = detail.get("Target") or {}
    return (
        str(target.get("Attribute", "")),
        str(target.get("Name", "")),
        str(target.get("Path", "")),
        str(detail.get("ChangeSource", "")),
        str(detail.get("CausingEntity", "")),
    )


def merge_changes(changes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per resource change; details merged, a value missing from one page taken from another."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        key = (str(change.get("LogicalResourceId", "")), str(change.get("Action", "")))
        into = merged.setdefault(key, {})
        for name, value in change.items():
            if name != "Details" and into.get(name) in (None, "", []):
                into[name] = value
        details: list[dict[str, Any]] = into.setdefault("Details", [])
        for detail in change.get("Details") or []:
            same = next((d for d in details if _detail_key(d) == _detail_key(detail)), None)
            if same is None:
                details.append({**detail, "Target": dict(detail.get("Target") or {})})
                continue
            for name, value in (detail.get("Target") or {}).items():
                same["Target"].setdefault(name, value)
    for into in merged.values():
        if not into["Details"]:
            del into["Details"]
    return list(merged.values())


@dataclass(frozen=True)
class Report:
    stack_name: str
    change_set_name: str
    change_set_id: str
    status: str
    execution_status: str
    changes: list[dict[str, Any]]
    dangers: list[Danger] = field(default_factory=list)
    allowances: Allowances = field(
        default_factory=Allowances
    )  # what the run was allowed, per resource and kind
    # Every resource the offline prediction expects to be replaced or removed, stateful or not.
    predictions: list[Prediction] = field(default_factory=list)

    def allowed(self, danger: Danger) -> bool:
        return self.allowances.allows(danger)

    def counts(self) -> dict[str, int]:
        # The change set may list nothing for a parameter-only update: what the prediction is certain of counts too.
        actions = [c.get("Action") for c in self.changes]
        replaced = {c.get("LogicalResourceId") for c in self.changes if c.get("Replacement") == "True"}
        replaced |= {d.logical_id for d in self.dangers if d.kind == REPLACEMENT}
        replaced |= {p.logical_id for p in self.predictions if p.kind == REPLACEMENT}
        removed = {c.get("LogicalResourceId") for c in self.changes if c.get("Action") == "Remove"}
        removed |= {d.logical_id for d in self.dangers if d.kind == REMOVAL}
        removed |= {p.logical_id for p in self.predictions if p.kind == REMOVAL}
        return {
            "add": actions.count("Add"),
            "modify": actions.count("Modify"),
            "remove": len(removed),
            "import": actions.count("Import"),
            "dynamic": actions.count("Dynamic"),
            "replaced": len(replaced),
            "dangerous": len(self.dangers),
        }

    def summary(self) -> str:
        n = self.counts()
        text = (
            f"{n['add']} to add, {n['modify']} to modify, {n['remove']} to remove, {n['replaced']} replaced, "
            f"{n['dangerous']} dangerous"
        )
        extra = [f"{n[k]} to {k}" if k == "import" else f"{n[k]} {k}" for k in ("import", "dynamic") if n[k]]
        return ", ".join([text, *extra])

    def to_json(self) -> dict[str, Any]:
        return {
            "StackName": self.stack_name,
            "ChangeSetName": self.change_set_name,
            "ChangeSetId": self.change_set_id,
            "Status": self.status,
            "ExecutionStatus": self.execution_status,
            "Summary": {**self.counts(), "text": self.summary()},
            "Dangers": [
                {
                    "LogicalResourceId": d.logical_id,
                    "ResourceType": d.resource_type,
                    "Kind": d.kind,
                    "Properties": list(d.properties),
                    "FoundBy": list(d.sources),
                    "StatefulBecause": d.stateful_because,
                    "Allowed": self.allowed(d),
                    "AllowWith": d.flag,
                }
                for d in self.dangers
            ],
            "Changes": self.changes,
        }


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


def to_markdown(report: Report) -> str:
    if not report.change_set_name:
        return f"### No changes for stack `{report.stack_name}`\n\nThe stack already matches the template and parameters.\n"
    lines = [
        f"### Change set `{report.change_set_name}` for stack `{report.stack_name}`",
        "",
        f"**{report.summary()}**",
        "",
    ]
    lines += _dangers_section(report)
    rows = [
        [
            _cell(c.get("Action")),
            _code(c.get("LogicalResourceId")),
            _cell(c.get("ResourceType")),
            _cell(c.get("Replacement")),
            _cell(", ".join(c.get("Scope") or []) or None),
            _cell(c.get("PolicyAction")),
        ]
        for c in report.changes
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

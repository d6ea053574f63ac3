"""The change-set report: one data model, written as JSON (--changeset-file) and Markdown (--report-file,
deployer/report_markdown.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deployer.guard import PREDICTION, REMOVAL, REMOVALS, REPLACEMENT, Allowances, Danger, Prediction
from deployer.security_changes import SecurityChange

MASKED = "****"  # how a NoEcho value is shown, before and after


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
class ParameterChange:
    name: str
    before: str | None  # None: the parameter is new (or the stack is being created)
    after: str | None  # None: the template no longer declares it


def parameter_changes(
    previous: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    *docs: Mapping[str, Any] | None,
) -> list[ParameterChange]:
    """Every parameter whose value changes, NoEcho ones (in either template) masked on both sides.

    `previous` is the stack's Parameters, `current` the change set's (UsePreviousValue entries keep the old value).
    A NoEcho value is shown only as changing when a value was given for it: AWS masks both, so they cannot be compared.
    """
    secret = {
        name
        for doc in docs
        for name, spec in ((doc or {}).get("Parameters") or {}).items()
        if isinstance(spec, Mapping) and str(spec.get("NoEcho", "")).lower() == "true"
    }
    before = {str(p["ParameterKey"]): p.get("ParameterValue") for p in previous if "ParameterKey" in p}
    after: dict[str, Any] = {}
    for p in current:
        if "ParameterKey" not in p:
            continue
        name = str(p["ParameterKey"])
        after[name] = before.get(name) if p.get("UsePreviousValue") else p.get("ParameterValue")
    given = {str(p["ParameterKey"]) for p in current if "ParameterKey" in p and not p.get("UsePreviousValue")}
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if name in secret or MASKED in (old, new):
            # Added, dropped or given a value: shown as changing; both sides masked.
            if name in given or old is None or new is None:
                found.append(ParameterChange(name, _masked(old), _masked(new)))
        elif old != new:
            found.append(ParameterChange(name, _text(old), _text(new)))
    return found


def _masked(value: Any) -> str | None:
    return None if value is None else MASKED


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _arn_part(arn: str, index: int) -> str:
    parts = arn.split(":")
    return parts[index] if len(parts) > 5 else ""


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
    stack_id: str = ""  # the stack's ARN: its account and region are shown
    parameters: list[ParameterChange] = field(default_factory=list)
    execute_command: str = ""  # the command that executes this change set
    notices: list[str] = field(default_factory=list)  # dangers that lose no data (the AMI changing)
    security: list[SecurityChange] = field(default_factory=list)

    @property
    def account(self) -> str:
        return _arn_part(self.stack_id or self.change_set_id, 4)

    @property
    def region(self) -> str:
        return _arn_part(self.stack_id or self.change_set_id, 3)

    def rows(self) -> list[dict[str, Any]]:
        """The change set's entries, then what only the prediction or the guard found (a parameter-only update can
        list nothing): the resource table and the summary's counts are made from these rows alone."""
        rows = [dict(c) for c in self.changes]
        listed = {(c.get("LogicalResourceId"), c.get("Action")) for c in self.changes}
        replaced = {c.get("LogicalResourceId") for c in self.changes if c.get("Replacement") in {"True"}}
        # An uncertain prediction (a value unknown offline) of a resource that holds no data is no danger: it gets
        # no row, as it was never counted.
        found: list[tuple[str, str, str, tuple[str, ...]]] = [
            (p.logical_id, p.resource_type, p.kind, (PREDICTION,)) for p in self.predictions if p.certain
        ]
        found += [(d.logical_id, d.resource_type, d.kind, d.sources) for d in self.dangers]
        for logical_id, rtype, kind, sources in found:
            action = "Remove" if kind in REMOVALS else "Modify"
            if (logical_id, action) in listed:
                if kind == REPLACEMENT and logical_id not in replaced:
                    # The change set said less than the prediction is sure of.
                    same = (logical_id, action)
                    next(r for r in rows if (r.get("LogicalResourceId"), r.get("Action")) == same)[
                        "Replacement"
                    ] = "True"
                    replaced.add(logical_id)
                continue
            listed.add((logical_id, action))
            row = {
                "Action": action,
                "LogicalResourceId": logical_id,
                "ResourceType": rtype,
                "FoundBy": list(sources),
            }
            if action == "Modify":
                row["Replacement"] = "True" if kind == REPLACEMENT else "Conditional"
                replaced |= {logical_id} if kind == REPLACEMENT else set()
            elif kind != REMOVAL:
                row["Condition"] = "undecided offline"
            rows.append(row)
        return rows

    def allowed(self, danger: Danger) -> bool:
        return self.allowances.allows(danger)

    def counts(self) -> dict[str, int]:
        # Counted from the rows the resource table shows, so the summary never says more than the table below it.
        rows = self.rows()
        actions = [c.get("Action") for c in rows]
        replaced = {c.get("LogicalResourceId") for c in rows if c.get("Replacement") == "True"}
        return {
            "add": actions.count("Add"),
            "modify": actions.count("Modify"),
            "remove": actions.count("Remove"),
            "import": actions.count("Import"),
            "dynamic": actions.count("Dynamic"),
            "replaced": len(replaced),
            "dangerous": len(self.dangers),
            "parameters": len(self.parameters),
            "security": len(self.security),
            "broadening": sum(1 for c in self.security if c.broadening),
        }

    def summary(self) -> str:
        n = self.counts()
        text = (
            f"{n['add']} to add, {n['modify']} to modify, {n['remove']} to remove, {n['replaced']} replaced, "
            f"{n['dangerous']} dangerous"
        )
        extra = [f"{n[k]} to {k}" if k == "import" else f"{n[k]} {k}" for k in ("import", "dynamic") if n[k]]
        if n["security"]:
            plural = "" if n["security"] == 1 else "s"
            extra.append(f"{n['security']} security change{plural} ({n['broadening']} broadening)")
        return ", ".join([text, *extra])

    def to_json(self) -> dict[str, Any]:
        return {
            "StackName": self.stack_name,
            "StackId": self.stack_id,
            "Account": self.account,
            "Region": self.region,
            "ExecuteCommand": self.execute_command,
            "Parameters": [
                {"ParameterKey": p.name, "Before": p.before, "After": p.after} for p in self.parameters
            ],
            "Notices": list(self.notices),
            "SecurityChanges": [c.to_json() for c in self.security],
            # Resources only the offline prediction found: the change set's own Changes stay as AWS gave them.
            "PredictedChanges": [r for r in self.rows() if "FoundBy" in r],
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

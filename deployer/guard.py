"""The data-loss guard: which resources hold data, which changes would lose it, and what the user allowed.

Pure functions only: the change set's entries and the offline prediction come in, dangers come out, and
`refusal` turns the ones nobody allowed into one error that names the resource, the cause and the flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cfnspec.stateful import STATEFUL_TYPES, why_stateful
from deployer.errors import DataLossRefused

CHANGE_SET = "change set"
PREDICTION = "offline prediction"

REMOVAL = "removal"
POSSIBLE_REMOVAL = "possible removal"  # under a Condition the offline prediction cannot evaluate
REPLACEMENT = "replacement"
CONDITIONAL = "conditional replacement"
# Allowed by --allow-removal; the other kinds by --allow-replacement.
REMOVALS = frozenset({REMOVAL, POSSIBLE_REMOVAL})


def stateful_resources(*docs: Mapping[str, Any] | None) -> dict[str, str]:
    """Logical id -> why it counts as stateful, from every given template (new and deployed)."""
    found: dict[str, str] = {}
    for doc in docs:
        resources = (doc or {}).get("Resources") or {}
        for logical_id, resource in resources.items():
            if not isinstance(resource, Mapping) or logical_id in found:
                continue
            why = why_stateful(resource)
            if why:
                found[logical_id] = why
    return found


@dataclass(frozen=True)
class Prediction:
    """A replacement the offline comparison expects (the create-only properties whose value changes), or a
    removal (properties then names the Condition that removes it, if any)."""

    logical_id: str
    resource_type: str
    properties: tuple[str, ...]
    certain: bool = True  # False when a value or a Condition could not be resolved and might differ
    removal: bool = False

    @property
    def kind(self) -> str:
        if self.removal:
            return REMOVAL if self.certain else POSSIBLE_REMOVAL
        return REPLACEMENT if self.certain else CONDITIONAL


@dataclass(frozen=True)
class Danger:
    logical_id: str
    resource_type: str
    kind: str  # REMOVAL, POSSIBLE_REMOVAL, REPLACEMENT or CONDITIONAL
    properties: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    stateful_because: str = ""

    @property
    def flag(self) -> str:
        option = "--allow-removal" if self.kind in REMOVALS else "--allow-replacement"
        return f"{option} {self.logical_id}"

    def describe(self) -> str:
        cause = f", forced by {', '.join(self.properties)}" if self.properties else ""
        why = "" if self.stateful_because in {"", self.resource_type} else f"; {self.stateful_because}"
        return (
            f"{self.kind} of {self.logical_id} ({self.resource_type}{why}){cause}; "
            f"found by {' and '.join(self.sources)}"
        )


@dataclass(frozen=True)
class Allowances:
    replacement: frozenset[str] = field(default_factory=frozenset)
    removal: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, replacement: Iterable[str] = (), removal: Iterable[str] = ()) -> Allowances:
        return cls(frozenset(replacement), frozenset(removal))

    def allows(self, danger: Danger) -> bool:
        names = self.removal if danger.kind in REMOVALS else self.replacement
        return danger.logical_id in names


def recreation_causes(change: Mapping[str, Any]) -> tuple[str, ...]:
    """The properties a change-set entry says force (or may force) recreation."""
    causes: list[str] = []
    for detail in change.get("Details") or []:
        target = detail.get("Target") or {}
        if target.get("RequiresRecreation") in {"Always", "Conditionally"}:
            name = target.get("Path") or target.get("Name") or target.get("Attribute")
            if name and name not in causes:
                causes.append(str(name))
    return tuple(causes)


def find_dangers(
    changes: Sequence[Mapping[str, Any]],
    predictions: Sequence[Prediction],
    stateful: Mapping[str, str],
) -> list[Danger]:
    """Every removal or replacement of a stateful resource, from either source, merged by resource and kind."""
    found: dict[tuple[str, str], Danger] = {}

    def add(danger: Danger) -> None:
        key = (danger.logical_id, danger.kind)
        old = found.get(key)
        if old is None:
            found[key] = danger
            return
        found[key] = Danger(
            old.logical_id,
            old.resource_type,
            old.kind,
            tuple(dict.fromkeys(old.properties + danger.properties)),
            tuple(s for s in (CHANGE_SET, PREDICTION) if s in old.sources + danger.sources),
            old.stateful_because,
        )

    for change in changes:
        logical_id = str(change.get("LogicalResourceId", ""))
        rtype = str(change.get("ResourceType", ""))
        why = stateful.get(logical_id) or (rtype if rtype in STATEFUL_TYPES else None)
        if not why:
            continue
        kind = _kind_of(change)
        if kind:
            add(Danger(logical_id, rtype, kind, recreation_causes(change), (CHANGE_SET,), why))
    for prediction in predictions:
        why = stateful.get(prediction.logical_id) or (
            prediction.resource_type if prediction.resource_type in STATEFUL_TYPES else None
        )
        if why:
            add(
                Danger(
                    prediction.logical_id,
                    prediction.resource_type,
                    prediction.kind,
                    prediction.properties,
                    (PREDICTION,),
                    why,
                )
            )
    # A certain replacement (removal) makes a possible one of the same resource redundant.
    for logical_id, kind in list(found):
        certain = {CONDITIONAL: REPLACEMENT, POSSIBLE_REMOVAL: REMOVAL}.get(kind)
        if certain and (logical_id, certain) in found:
            extra = found.pop((logical_id, kind))
            add(Danger(logical_id, extra.resource_type, certain, extra.properties, extra.sources))
    return sorted(found.values(), key=lambda d: (d.logical_id, d.kind))


def _kind_of(change: Mapping[str, Any]) -> str | None:
    if change.get("Action") == "Remove":
        return REMOVAL
    replacement = change.get("Replacement")
    if replacement == "True":
        return REPLACEMENT
    if replacement == "Conditional":
        return CONDITIONAL
    return None


def unallowed(dangers: Sequence[Danger], allowances: Allowances) -> list[Danger]:
    return [d for d in dangers if not allowances.allows(d)]


def allowed_ids(dangers: Sequence[Danger], allowances: Allowances) -> list[str]:
    """The resources this run may replace or remove: the stack policy is opened for these alone."""
    return sorted({d.logical_id for d in dangers if allowances.allows(d)})


def refusal(dangers: Sequence[Danger], change_set: str, execute_command: str) -> DataLossRefused:
    first = dangers[0]
    more = (
        f" (and {len(dangers) - 1} more: {', '.join(d.logical_id for d in dangers[1:])})"
        if dangers[1:]
        else ""
    )
    flags = " ".join(d.flag for d in dangers)
    return DataLossRefused(
        f"refusing to execute change set {change_set}: {first.describe()}{more}; it is kept for review",
        hint=f"if losing that data is intended, add {flags} to: {execute_command}",
    )

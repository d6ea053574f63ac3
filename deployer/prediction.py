"""Offline prediction: resolve the deployed and the new template, compare create-only properties and Conditions.

The change set is not the only witness: an endpoint may list no change for a parameter-only update, and a
Replacement value can be missing. Both templates are resolved with their own parameter values (Ref, pseudo
parameters, Fn::Sub, Fn::Join, Fn::Select, Fn::If on conditions that can be evaluated); a property whose value
cannot be resolved is UNRESOLVED, and an UNRESOLVED value that might differ counts as a possible replacement.

Each resource's Condition is evaluated on both sides (deployed template with the deployed parameters, new template
with the new ones). A resource that exists before and not after (its Condition turns false, or the template drops
it) is a removal. When a Condition cannot be evaluated offline on either side (it depends on a NoEcho parameter,
say), the resource may exist: it is still compared for replacement, and a possible removal is predicted unless it
certainly exists afterwards or the same Condition is evaluated over the same inputs on both sides.
The resolver (cfnspec.resolve) and the create-only properties (cfnspec.schemas) are shared with other checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cfnspec import resolve as resolver
from cfnspec.resolve import (
    UNRESOLVED,
    contains_unresolved,
    parameter_values,
    present,
    pseudo_parameters,
    resolve,
)
from cfnspec.schemas import create_only_paths
from deployer.guard import Prediction

__all__ = [
    "Scope",
    "parameter_values",
    "predict",
    "predict_removals",
    "predict_replacements",
    "pseudo_parameters",
]


@dataclass(frozen=True)
class Scope(resolver.Scope):
    """A resolver scope that names resources symbolically: the same Ref or GetAtt on both sides compares equal,
    so only a resource that is itself replaced changes what refers to it."""

    symbolic_resources: bool = True


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if value is UNRESOLVED:
            return UNRESOLVED
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _same_inputs(old_scope: Scope, new_scope: Scope) -> bool:
    return dict(old_scope.parameters) == dict(new_scope.parameters) and dict(old_scope.pseudo) == dict(
        new_scope.pseudo
    )


def _same_condition(old: Mapping[str, Any], old_scope: Scope, new: Any, new_scope: Scope) -> bool:
    """The same Condition over the same inputs: equal truth on both sides, even when neither can be evaluated.

    The whole Conditions sections are compared (a named condition may refer to others): stricter than needed,
    never wrong.
    """
    return (
        isinstance(new, Mapping)
        and old.get("Condition") == new.get("Condition")
        and old_scope.doc.get("Conditions") == new_scope.doc.get("Conditions")
        and _same_inputs(old_scope, new_scope)
    )


def predict(
    old_doc: Mapping[str, Any],
    old_scope: Scope,
    new_doc: Mapping[str, Any],
    new_scope: Scope,
    region: str,
) -> list[Prediction]:
    """Removals, then replacements, of every resource of the deployed template (stateful or not)."""
    return predict_removals(old_doc, old_scope, new_doc, new_scope) + predict_replacements(
        old_doc, old_scope, new_doc, new_scope, region
    )


def predict_removals(
    old_doc: Mapping[str, Any],
    old_scope: Scope,
    new_doc: Mapping[str, Any],
    new_scope: Scope,
) -> list[Prediction]:
    """Resources that exist (or may exist) in the deployed stack and not (or maybe not) after the update.

    deployed / new   True   None (undecidable)   False / not in the template
    True             -      possible removal     removal
    None             -      possible removal(*)  possible removal
    False            -      -                    -
    (*) none when the same Condition is evaluated over the same inputs on both sides.
    """
    predictions = []
    new_resources = new_doc.get("Resources") or {}
    for logical_id, old in (old_doc.get("Resources") or {}).items():
        if not isinstance(old, Mapping):
            continue
        before = present(old, old_scope)
        new = new_resources.get(logical_id)
        after = present(new, new_scope) if isinstance(new, Mapping) else False
        if before is False or after is True:
            continue
        if before is None and after is None and _same_condition(old, old_scope, new, new_scope):
            continue
        cause: tuple[str, ...] = ()
        if isinstance(new, Mapping) and new.get("Condition") is not None:
            state = "is false" if after is False else "cannot be evaluated offline"
            cause = (f"Condition {new['Condition']} {state}",)
        certain = before is True and after is False
        rtype = str(old.get("Type", ""))
        predictions.append(Prediction(logical_id, rtype, cause, certain, removal=True))
    return predictions


def predict_replacements(
    old_doc: Mapping[str, Any],
    old_scope: Scope,
    new_doc: Mapping[str, Any],
    new_scope: Scope,
    region: str,
) -> list[Prediction]:
    """Resources in both templates whose create-only properties change (or may change).

    A resource under a Condition that cannot be evaluated offline is compared too: if it exists, it is replaced,
    so the replacement is only possible (conditional).
    """
    predictions = []
    old_resources = old_doc.get("Resources") or {}
    for logical_id, new in (new_doc.get("Resources") or {}).items():
        old = old_resources.get(logical_id)
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            continue
        before, after = present(old, old_scope), present(new, new_scope)
        if before is False or after is False:
            continue
        exists = before is True and after is True
        rtype = str(new.get("Type", ""))
        if old.get("Type") != rtype:
            predictions.append(Prediction(logical_id, rtype, ("Type",), exists))
            continue
        same_inputs = dict(old_scope.parameters) == dict(new_scope.parameters)
        changed, certain = [], exists
        for path in create_only_paths(rtype, region):
            raw_old, raw_new = _at(old.get("Properties") or {}, path), _at(new.get("Properties") or {}, path)
            if raw_old == raw_new and same_inputs:
                continue  # the same expression over the same inputs gives the same value
            before = _at(resolve(old.get("Properties") or {}, old_scope), path)
            after = _at(resolve(new.get("Properties") or {}, new_scope), path)
            if contains_unresolved(before) or contains_unresolved(after):
                changed.append(".".join(path))
                certain = False
            elif before != after:
                changed.append(".".join(path))
        if changed:
            predictions.append(Prediction(logical_id, rtype, tuple(changed), certain))
    return predictions

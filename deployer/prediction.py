"""Offline replacement prediction: resolve the deployed and the new template, compare create-only properties.

The change set is not the only witness: an endpoint may list no change for a parameter-only update, and a
Replacement value can be missing. Both templates are resolved with their own parameter values (Ref, pseudo
parameters, Fn::Sub, Fn::Join, Fn::Select, Fn::If on conditions that can be evaluated); a property whose value
cannot be resolved is UNRESOLVED, and an UNRESOLVED value that might differ counts as a possible replacement.
The resolver (cfnspec.resolve) and the create-only properties (cfnspec.schemas) are shared with other checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cfnspec import resolve as resolver
from cfnspec.resolve import (
    UNRESOLVED,
    condition,
    contains_unresolved,
    parameter_values,
    pseudo_parameters,
    resolve,
)
from cfnspec.schemas import create_only_paths
from deployer.guard import Prediction

__all__ = ["Scope", "parameter_values", "predict_replacements", "pseudo_parameters"]


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


def _present(resource: Mapping[str, Any], scope: Scope) -> bool:
    name = resource.get("Condition")
    return name is None or condition(name, scope) is not False


def predict_replacements(
    old_doc: Mapping[str, Any],
    old_scope: Scope,
    new_doc: Mapping[str, Any],
    new_scope: Scope,
    region: str,
) -> list[Prediction]:
    """Resources in both templates whose create-only properties change (or may change)."""
    predictions = []
    old_resources = old_doc.get("Resources") or {}
    for logical_id, new in (new_doc.get("Resources") or {}).items():
        old = old_resources.get(logical_id)
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            continue
        if not (_present(old, old_scope) and _present(new, new_scope)):
            continue
        rtype = str(new.get("Type", ""))
        if old.get("Type") != rtype:
            predictions.append(Prediction(logical_id, rtype, ("Type",)))
            continue
        same_inputs = dict(old_scope.parameters) == dict(new_scope.parameters)
        changed, certain = [], True
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

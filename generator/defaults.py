"""The template read at its default parameter values (or a few overrides), in the default region.

Used by the cost estimate and the quota counts, so both follow the template's defaults and conditions. The
evaluation is cfnspec.resolve's, the one deploy.py's prediction and preflight use; what is decided here is only
the scope (defaults, a documentation account) and that the page cannot be written when a Condition is undecided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec.limits import DEFAULT_REGION
from cfnspec.resolve import UNRESOLVED, Scope, contains_unresolved, parameter_values, present, url_suffix
from cfnspec.resolve import resolve as resolve_value

Template = Mapping[str, Any]
PSEUDO = {
    "AWS::Region": DEFAULT_REGION,
    "AWS::Partition": "aws",
    "AWS::AccountId": "111122223333",
    "AWS::URLSuffix": url_suffix("aws"),
}


def scope(t: Template, **overrides: str) -> Scope:
    """The template at its defaults, with the given parameters overridden."""
    return Scope(parameters=parameter_values(t, overrides), pseudo=PSEUDO, doc=t)


def resolve(value: Any, at: Scope) -> Any:
    """A value at the defaults; a value the defaults leave unknown is an error, not a guess on the page."""
    resolved = resolve_value(value, at)
    if resolved is UNRESOLVED or contains_unresolved(resolved):
        raise ValueError(f"{value!r} cannot be resolved at the template defaults")
    return resolved


def exists(resource: Mapping[str, Any], at: Scope) -> bool:
    found = present(resource, at)
    if found is None:
        raise ValueError(
            f"Condition {resource.get('Condition')!r} cannot be decided at the template defaults"
        )
    return found


def count(t: Template, resource_type: str, at: Scope) -> int:
    return sum(1 for r in t.get("Resources", {}).values() if r.get("Type") == resource_type and exists(r, at))

"""The template read at given parameter values: which conditions hold, what a Ref to a parameter resolves to.

Used by the cost estimate and the quota counts, so both follow the template's defaults and conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec.limits import DEFAULT_REGION

Template = Mapping[str, Any]
PSEUDO = {"AWS::Region": DEFAULT_REGION, "AWS::Partition": "aws", "AWS::AccountId": "111122223333"}


def default_values(t: Template, **overrides: str) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in t.get("Parameters", {}).items()}
    values.update(overrides)
    return values


def resolve(value: Any, values: Mapping[str, str]) -> Any:
    """A Ref to a parameter (or pseudo parameter) becomes its value; anything else is returned as it is."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = str(value["Ref"])
        if name in values:
            return values[name]
        return PSEUDO.get(name, value)
    return value


def condition_holds(t: Template, condition: str, values: Mapping[str, str]) -> bool:
    return bool(_evaluate(t, t.get("Conditions", {})[condition], values))


def _evaluate(t: Template, body: Any, values: Mapping[str, str]) -> Any:
    if not isinstance(body, dict):
        return body
    if "Condition" in body:
        return condition_holds(t, str(body["Condition"]), values)
    if "Ref" in body:
        return resolve(body, values)
    if "Fn::Equals" in body:
        left, right = (_evaluate(t, side, values) for side in body["Fn::Equals"])
        return str(left) == str(right)
    if "Fn::Not" in body:
        return not _evaluate(t, body["Fn::Not"][0], values)
    if "Fn::And" in body:
        return all(_evaluate(t, part, values) for part in body["Fn::And"])
    if "Fn::Or" in body:
        return any(_evaluate(t, part, values) for part in body["Fn::Or"])
    raise ValueError(f"cannot evaluate condition expression {sorted(body)}: extend generator/defaults.py")


def exists(t: Template, resource: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    condition = resource.get("Condition")
    return condition is None or condition_holds(t, str(condition), values)


def count(t: Template, resource_type: str, values: Mapping[str, str]) -> int:
    return sum(
        1 for r in t.get("Resources", {}).values() if r.get("Type") == resource_type and exists(t, r, values)
    )

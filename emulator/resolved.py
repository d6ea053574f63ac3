"""A moto stack's template resolved as CloudFormation sees it: which resources exist, with which property values.

The change sets (emulator.changeset_gaps) and drift detection (emulator.drift_gaps) both need what moto never keeps:
the resolved properties of every resource under the stack's parameter values and Conditions. They are computed
with the project's one resolver (cfnspec.resolve), to which this adds what only a running account knows:
Fn::Cidr, Fn::ImportValue (the account's exports) and Fn::GetAZs. Refs and Fn::GetAtt of resources stay
symbolic tokens, equal for the same resource on both sides of a change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cfnspec.resolve import Scope, condition, pseudo_parameters, resolve

AVAILABILITY_ZONE_LETTERS = "abcdef"


@dataclass(frozen=True)
class Resolved:
    """Resources whose Condition holds (or cannot be decided), each with its resolved JSON."""

    resources: dict[str, dict[str, Any]]
    raw: dict[str, Any]
    parameters: dict[str, Any]


def parameter_text(value: Any) -> str:
    """moto keeps resolved parameters as numbers and lists; CloudFormation compares their text."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def typed_values(doc: Mapping[str, Any], texts: Mapping[str, str]) -> dict[str, Any]:
    """Parameter text -> what a Ref gives: a list for list types, the text otherwise."""
    values: dict[str, Any] = {}
    for name, text in texts.items():
        spec = (doc.get("Parameters") or {}).get(name) or {}
        ptype = str(spec.get("Type", "String"))
        is_list = (ptype.startswith("List<") or ptype == "CommaDelimitedList") and "::Value<" not in ptype
        values[name] = [v.strip() for v in text.split(",")] if is_list else text
    return values


def _cidr(arg: Any, scope: Scope) -> Any:
    parts = [resolve(a, scope) for a in arg] if isinstance(arg, list) and len(arg) == 3 else []
    try:
        block, count, bits = str(parts[0]), int(parts[1]), int(parts[2])
        network = ipaddress.ip_network(block, strict=False)
        subnets = network.subnets(new_prefix=network.max_prefixlen - bits)
        return [str(next(subnets)) for _ in range(count)]
    except (IndexError, TypeError, ValueError, StopIteration):
        return None


def _expand(value: Any, scope: Scope, exports: Mapping[str, str]) -> Any:
    """Replace the functions cfnspec leaves UNRESOLVED by their values, innermost first."""
    if isinstance(value, list):
        return [_expand(v, scope, exports) for v in value]
    if not isinstance(value, Mapping):
        return value
    expanded = {k: _expand(v, scope, exports) for k, v in value.items()}
    if len(expanded) == 1:
        ((key, arg),) = expanded.items()
        if key == "Fn::Cidr":
            blocks = _cidr(arg, scope)
            return expanded if blocks is None else blocks
        if key == "Fn::ImportValue":
            name = resolve(arg, scope)
            return exports.get(name, expanded) if isinstance(name, str) else expanded
    return expanded


def resolve_template(
    doc: Mapping[str, Any],
    parameter_texts: Mapping[str, str],
    stack_id: str,
    stack_name: str,
    exports: Mapping[str, str],
) -> Resolved:
    pseudo = pseudo_parameters(stack_id, stack_name)
    region = pseudo.get("AWS::Region", "us-east-1")
    parameters = typed_values(doc, parameter_texts)
    scope = Scope(
        parameters,
        pseudo,
        doc,
        symbolic_resources=True,
        availability_zones=lambda: [region + letter for letter in AVAILABILITY_ZONE_LETTERS],
    )
    resources: dict[str, dict[str, Any]] = {}
    raw = dict(doc.get("Resources") or {})
    for logical_id, resource in raw.items():
        if not isinstance(resource, Mapping):
            continue
        name = resource.get("Condition")
        if name is not None and condition(name, scope) is False:
            continue
        resources[logical_id] = resolve(_expand(dict(resource), scope, exports), scope)
    return Resolved(resources, raw, parameters)

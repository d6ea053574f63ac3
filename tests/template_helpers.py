"""Assertions on a generated template dict, in the spirit of CDK's Template.has_resource_properties."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from templates import REGISTRY


@cache
def _built(name: str) -> str:
    return json.dumps(REGISTRY[name]().to_dict())


def stack_dict(name: str = "tap-stack") -> dict[str, Any]:
    """A fresh copy of a registered template as a dict (built once, copied per call: tests share no state)."""
    return json.loads(_built(name))


def resources_of_type(tpl: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == rtype}


def only_resource(tpl: dict[str, Any], rtype: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(tpl, rtype)
    assert len(found) == 1, f"expected exactly one {rtype}, found {sorted(found)}"
    return next(iter(found.items()))


def props(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    assert logical_id in tpl["Resources"], f"no resource {logical_id}; have {sorted(tpl['Resources'])}"
    return tpl["Resources"][logical_id].get("Properties", {})


def assert_partial(actual: Any, expected: Any, path: str = "$") -> None:
    """Deep partial match: every key of expected is in actual with a matching value; lists match item by item."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}: missing key {key!r} (have {sorted(actual)})"
            assert_partial(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), (
            f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}"
        )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_partial(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: expected {expected!r}, got {actual!r}"


def has_resource_properties(tpl: dict[str, Any], rtype: str, expected: dict[str, Any]) -> str:
    """The logical id of the one resource of rtype whose properties match expected; fails with every mismatch."""
    errors = []
    for logical_id, res in resources_of_type(tpl, rtype).items():
        try:
            assert_partial(res.get("Properties", {}), expected, logical_id)
            return logical_id
        except AssertionError as err:
            errors.append(str(err))
    raise AssertionError(f"no {rtype} matches {expected!r}:\n" + "\n".join(errors or ["(none of that type)"]))


def refs_in(value: Any) -> set[str]:
    """Every logical id or parameter referenced by Ref, GetAtt or Sub inside a value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                import re

                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text) if "::" not in m)
                found |= refs_in(inner if isinstance(inner, list) else [])
            else:
                found |= refs_in(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs_in(inner)
    return found

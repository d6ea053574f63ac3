"""What the template will do with the given parameters: intrinsic functions resolved as CloudFormation would.

Every check reads the stack's facts (bucket names, the key each resource uses, retained resources) from the
template itself through this module, so nothing here is a second, hand-written copy of the template.
A value that only exists once the stack does (Fn::GetAtt, a Ref to a resource) resolves to UNRESOLVED.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class _Unresolved:
    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED: Any = _Unresolved()
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class StackFacts:
    template: Mapping[str, Any]
    parameters: Mapping[str, str]  # every parameter's effective value: given, previous, or default
    region: str
    partition: str
    account_id: Callable[[], str]  # asked only when a value needs it (one STS call, cached)
    stack: Mapping[str, Any] | None = None  # the deployed stack, None when it is being created
    stack_resources: Callable[[], Mapping[str, str]] = dict  # logical id -> physical id of the deployed stack
    availability_zones: Callable[[], list[str]] = list
    resolved_values: frozenset[str] = frozenset()  # kept from the stack as resolved values (see runner)
    _conditions: dict[str, bool] = field(default_factory=dict)

    @property
    def creating(self) -> bool:
        """True when the change set would be a CREATE (no stack, or one that was never executed)."""
        return self.stack is None or self.stack.get("StackStatus") == "REVIEW_IN_PROGRESS"

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        res = self.template.get("Resources") or {}
        return res if isinstance(res, Mapping) else {}

    def active(self, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(logical id, resource) of every resource of these types that the parameters make the stack create."""
        for logical_id, resource in self.resources.items():
            if types and resource.get("Type") not in types:
                continue
            condition = resource.get("Condition")
            if condition is None or self.condition(str(condition)):
                yield logical_id, resource

    def properties(self, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        props = resource.get("Properties") or {}
        return props if isinstance(props, Mapping) else {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = (self.template.get("Conditions") or {}).get(name)
            self._conditions[name] = bool(self.resolve(spec)) if spec is not None else False
        return self._conditions[name]

    def pseudo(self, name: str) -> Any:
        if name == "AWS::AccountId":
            return self.account_id()  # runner.once: one STS call, whichever thread asks first
        values = {
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": (self.stack or {}).get("StackName", UNRESOLVED),
            "AWS::NoValue": None,
        }
        return values.get(name, UNRESOLVED)

    def resolve(self, value: Any) -> Any:
        """The value CloudFormation would use, or UNRESOLVED where it depends on a resource not yet created."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((fn, arg),) = value.items()
        handler = _FUNCTIONS.get(fn)
        if handler is None:
            return {fn: self.resolve(arg)}
        return handler(self, arg)

    def text(self, value: Any) -> str | None:
        """A resolved string, or None when it cannot be known before the stack exists."""
        resolved = self.resolve(value)
        return resolved if isinstance(resolved, str) else None

    def _ref(self, name: Any) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if isinstance(name, str) and name.startswith("AWS::"):
            return self.pseudo(name)
        return UNRESOLVED  # a resource: its id exists only after creation

    def _sub(self, arg: Any) -> Any:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        local = {k: self.resolve(v) for k, v in variables.items()}
        unresolved = False

        def one(match: re.Match[str]) -> str:
            nonlocal unresolved
            name = match.group(1)
            value = local[name] if name in local else self._ref(name) if "." not in name else UNRESOLVED
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                unresolved = True
                return ""
            return str(value)

        result = _SUB_VAR.sub(one, text).replace("${!", "${")
        return UNRESOLVED if unresolved else result


def _if(facts: StackFacts, arg: Any) -> Any:
    name, yes, no = arg
    return facts.resolve(yes if facts.condition(name) else no)


def _equals(facts: StackFacts, arg: Any) -> Any:
    a, b = (facts.resolve(v) for v in arg)
    if a is UNRESOLVED or b is UNRESOLVED:
        return False
    return str(a) == str(b)


def _select(facts: StackFacts, arg: Any) -> Any:
    index, items = facts.resolve(arg[0]), facts.resolve(arg[1])
    if not isinstance(items, list):
        return UNRESOLVED
    try:
        return items[int(index)]
    except (IndexError, ValueError, TypeError):
        return UNRESOLVED


def _split(facts: StackFacts, arg: Any) -> Any:
    text = facts.resolve(arg[1])
    return text.split(arg[0]) if isinstance(text, str) else UNRESOLVED


def _join(facts: StackFacts, arg: Any) -> Any:
    items = facts.resolve(arg[1])
    if not isinstance(items, list) or any(not isinstance(i, str) for i in items):
        return UNRESOLVED
    return str(arg[0]).join(items)


_FUNCTIONS: dict[str, Callable[[StackFacts, Any], Any]] = {
    "Ref": lambda f, a: f._ref(a),
    "Fn::Sub": lambda f, a: f._sub(a),
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda f, a: not bool(f.resolve(a[0])),
    "Fn::And": lambda f, a: all(bool(f.resolve(v)) for v in a),
    "Fn::Or": lambda f, a: any(bool(f.resolve(v)) for v in a),
    "Condition": lambda f, a: f.condition(str(a)),
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::Join": _join,
    "Fn::GetAZs": lambda f, a: f.availability_zones(),
    "Fn::GetAtt": lambda f, a: UNRESOLVED,
    "Fn::ImportValue": lambda f, a: UNRESOLVED,
}


def find_properties(value: Any, names: frozenset[str], path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, raw value) of every property with one of these names, at any depth of a resource's properties."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in names:
                yield here, item
            yield from find_properties(item, names, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from find_properties(item, names, f"{path}[{i}]")

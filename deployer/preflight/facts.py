"""What the template will do with the given parameters: intrinsic functions resolved as CloudFormation would.

Every check reads the stack's facts (bucket names, the key each resource uses, retained resources) from the
template itself through this module, so nothing here is a second, hand-written copy of the template. The
resolving itself is cfnspec.resolve's. A value that only exists once the stack does (Fn::GetAtt, a Ref to a
resource) resolves to UNRESOLVED, which a check reads as "cannot check".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cfnspec import resolve as resolver
from cfnspec.resolve import NO_VALUE, UNRESOLVED, url_suffix

__all__ = ["UNRESOLVED", "StackFacts", "find_properties"]


class _Pseudo(Mapping[str, Any]):
    """The pseudo parameters, asking for the account id only when a value needs it."""

    _NAMES = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix", "AWS::StackName")

    def __init__(self, facts: StackFacts) -> None:
        self._facts = facts

    def __contains__(self, name: object) -> bool:
        if name == "AWS::StackName":
            return self._facts.stack is not None and "StackName" in self._facts.stack
        return name in self._NAMES

    def __getitem__(self, name: str) -> Any:
        if name not in self:
            raise KeyError(name)
        facts = self._facts
        if name == "AWS::AccountId":
            return facts.account_id()  # runner.once: one STS call, whichever thread asks first
        if name == "AWS::StackName":
            return (facts.stack or {})["StackName"]
        return {
            "AWS::Region": facts.region,
            "AWS::Partition": facts.partition,
            "AWS::URLSuffix": url_suffix(facts.partition),
        }[name]

    def __iter__(self) -> Iterator[str]:
        return (n for n in self._NAMES if n in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


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
        """A named condition; one that cannot be decided before the stack exists counts as false (not checked)."""
        if name not in self._conditions:
            self._conditions[name] = resolver.condition(name, self._scope()) is True
        return self._conditions[name]

    def pseudo(self, name: str) -> Any:
        return self._scope().ref(name) if name.startswith("AWS::") else UNRESOLVED

    def resolve(self, value: Any) -> Any:
        """The value CloudFormation would use, or UNRESOLVED where it depends on a resource not yet created."""
        resolved = resolver.resolve(value, self._scope())
        return None if resolved is NO_VALUE else resolved

    def text(self, value: Any) -> str | None:
        """A resolved string, or None when it cannot be known before the stack exists."""
        resolved = self.resolve(value)
        return resolved if isinstance(resolved, str) else None

    def _scope(self) -> resolver.Scope:
        # Built per call: a test or the runner may replace account_id after construction.
        return resolver.Scope(
            self.parameters, _Pseudo(self), self.template, availability_zones=self.availability_zones
        )


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

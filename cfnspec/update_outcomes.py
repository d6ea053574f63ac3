"""What changing one parameter of a deployed stack does: in place, rolls the instances, replaces resources, or
cannot be done in place at all (the change needs a new stack).

Derived from the template and the createOnlyProperties of cfn-lint's schemas: a parameter changes the properties
that refer to it (directly, or through a condition of an Fn::If); a changed create-only property replaces its
resource; a replaced resource has a new physical id and attributes, so whatever refers to it changes in turn, up
to a fixed point. What the schemas cannot say is the short list of AWS facts below (FACTS), each with its
reason: the updates that CloudFormation starts and AWS then refuses. The ops page's update table, deploy.py's
refusal and the tests all read `update_outcomes`, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from cfnspec.limits import DEFAULT_REGION, RETAIN, RETAIN_EXCEPT_ON_CREATE
from cfnspec.schemas import create_only_paths

# The ops page's subsection on the changes below that need a new stack: deploy.py's refusal points to it.
NEW_STACK_SECTION = "Changes that need a new stack"

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class Outcome(IntEnum):
    """Ordered: a parameter's outcome is the worst of its effects."""

    IN_PLACE = 0
    ROLLS_INSTANCES = 1
    REPLACES = 2
    NEW_STACK = 3

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.IN_PLACE: "in place",
    Outcome.ROLLS_INSTANCES: "rolls the instances",
    Outcome.REPLACES: "replaces resources",
    Outcome.NEW_STACK: "needs a new stack",
}

# What an effect is, for grouping on the page and in messages.
UPDATED = "updated in place"
NEW_VERSION = "new version"
ROLLS = "rolling update"
REPLACED = "replaced"
ADDED_OR_REMOVED = "added or removed"
FAILS = "fails"


@dataclass(frozen=True)
class Effect:
    logical_id: str
    action: str  # one of the constants above
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class ParameterOutcome:
    parameter: str
    effects: tuple[Effect, ...] = ()

    @property
    def outcome(self) -> Outcome:
        return max((e.outcome for e in self.effects), default=Outcome.IN_PLACE)

    def ids(self, action: str) -> list[str]:
        return [e.logical_id for e in self.effects if e.action == action]

    @property
    def failures(self) -> list[Effect]:
        return [e for e in self.effects if e.action == FAILS]


# ---- the AWS facts the schemas do not hold ---------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One resource under one parameter change, as the facts see it."""

    logical_id: str
    resource: Mapping[str, Any]
    replaced: bool
    changed: frozenset[str]  # top-level properties whose value changes
    state: Propagation

    def refers_to_unreplaced(self, prop: str, rtype: str) -> list[str]:
        """Resources of `rtype` that `prop` refers to and that are not replaced."""
        value = (self.resource.get("Properties") or {}).get(prop)
        return [
            name
            for name, _ in references(value)
            if self.state.type_of(name) == rtype and name not in self.state.replaced
        ]


@dataclass(frozen=True)
class Fact:
    resource_type: str
    applies: Callable[[Change], bool]
    reason: str


FACTS: tuple[Fact, ...] = (
    Fact(
        "AWS::EC2::VPCGatewayAttachment",
        lambda c: (
            c.replaced and bool(c.refers_to_unreplaced("InternetGatewayId", "AWS::EC2::InternetGateway"))
        ),
        "the internet gateway is still attached to the old VPC: the new attachment fails with "
        "Resource.AlreadyAssociated (a gateway attaches to one VPC)",
    ),
    Fact(
        "AWS::EC2::NatGateway",
        lambda c: c.replaced and bool(c.refers_to_unreplaced("AllocationId", "AWS::EC2::EIP")),
        "its Elastic IP is still associated with the old NAT gateway, so the new one cannot take it",
    ),
    Fact(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        lambda c: (
            not c.replaced
            and bool(c.changed & {"Subnets", "SubnetMappings"})
            and c.state.replaces_type("AWS::EC2::VPC")
        ),
        "a load balancer cannot move to another VPC: its subnets would be in the new VPC",
    ),
    Fact(
        "AWS::ElasticLoadBalancingV2::Listener",
        lambda c: (
            c.replaced
            and bool(c.refers_to_unreplaced("DefaultActions", "AWS::ElasticLoadBalancingV2::TargetGroup"))
        ),
        "the new load balancer's listener forwards to the target group still attached to the old load "
        "balancer, and a target group cannot belong to two load balancers",
    ),
)

# Attributes that an in-place update changes: a new launch template version has a new number.
ATTRIBUTES_CHANGED_BY_UPDATE = {("AWS::EC2::LaunchTemplate", "LaunchTemplateData"): ("LatestVersionNumber",)}
# Properties whose change makes an AutoScalingRollingUpdate replace every instance, batch by batch.
ROLLING_UPDATE_TRIGGERS = frozenset(
    {"LaunchTemplate", "LaunchConfigurationName", "VPCZoneIdentifier", "MixedInstancesPolicy"}
)
# CloudFormation cannot replace a resource with a custom name unless the name changes too (the name is taken).
CUSTOM_NAME_REASON = "it must be replaced but keeps its custom name, which the old one still holds"


# ---- references ------------------------------------------------------------------------------------------------


def references(value: Any) -> Iterator[tuple[str, str | None]]:
    """(name, attribute) of every Ref, Fn::GetAtt and ${} in Fn::Sub; the attribute is None for a Ref."""
    if isinstance(value, list):
        for inner in value:
            yield from references(inner)
        return
    if not isinstance(value, Mapping):
        return
    for key, inner in value.items():
        if key == "Ref" and isinstance(inner, str):
            yield inner, None
        elif key == "Fn::GetAtt":
            parts = inner if isinstance(inner, list) else str(inner).split(".", 1)
            yield str(parts[0]), str(parts[1]) if len(parts) > 1 else ""
        elif key == "Fn::Sub":
            text, variables = (inner, None) if isinstance(inner, str) else (inner[0], inner[1:])
            local = set(variables[0]) if variables and isinstance(variables[0], Mapping) else set()
            for name in _SUB_VAR.findall(str(text)):
                base, _, attribute = name.partition(".")
                if base not in local:
                    yield base, attribute or None
            yield from references(variables)
        else:
            yield from references(inner)


def conditions_in(value: Any) -> Iterator[str]:
    """Names of the conditions that Fn::If (or a Condition key) inside a value decide on."""
    if isinstance(value, list):
        for inner in value:
            yield from conditions_in(inner)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "Fn::If" and isinstance(inner, list) and inner and isinstance(inner[0], str):
                yield inner[0]
            elif key == "Condition" and isinstance(inner, str):
                yield inner
            yield from conditions_in(inner)


def condition_parameters(doc: Mapping[str, Any]) -> dict[str, set[str]]:
    """Condition name -> the parameters it depends on, through nested conditions too."""
    conditions = doc.get("Conditions") or {}
    params = set(doc.get("Parameters") or {})
    found: dict[str, set[str]] = {}

    def of(name: str, seen: frozenset[str]) -> set[str]:
        if name in found:
            return found[name]
        if name in seen or name not in conditions:
            return set()
        body = conditions[name]
        direct = {n for n, attribute in references(body) if attribute is None and n in params}
        for inner in conditions_in(body):
            direct |= of(inner, seen | {name})
        found[name] = direct
        return direct

    for name in conditions:
        of(name, frozenset())
    return found


# ---- propagation -----------------------------------------------------------------------------------------------


@dataclass
class Propagation:
    """What one parameter change reaches, grown to a fixed point."""

    doc: Mapping[str, Any]
    parameter: str
    conditions: frozenset[str]  # the conditions the parameter decides
    region: str
    replaced: dict[str, str] = field(default_factory=dict)  # logical id -> why
    new_attributes: set[tuple[str, str]] = field(default_factory=set)  # (logical id, attribute) that change

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        return self.doc.get("Resources") or {}

    def type_of(self, logical_id: str) -> str:
        return str((self.resources.get(logical_id) or {}).get("Type", ""))

    def replaces_type(self, rtype: str) -> bool:
        return any(self.type_of(i) == rtype for i in self.replaced)

    def cause(self, value: Any) -> str | None:
        """Why a property value changes under this parameter, or None when it does not."""
        for name, attribute in references(value):
            if name == self.parameter and attribute is None:
                return f"refers to {self.parameter}"
            if name in self.replaced:
                return f"refers to {name}, which is replaced"
            if attribute and (name, attribute) in self.new_attributes:
                return f"refers to {name}.{attribute}, which changes"
        decided = self.conditions.intersection(conditions_in(value))
        if decided:
            return f"depends on the condition {sorted(decided)[0]}"
        return None

    def changed_properties(self, resource: Mapping[str, Any]) -> dict[str, str]:
        properties = resource.get("Properties") or {}
        return {prop: why for prop, value in properties.items() if (why := self.cause(value)) is not None}

    def replacement_cause(self, logical_id: str, resource: Mapping[str, Any]) -> str | None:
        properties = resource.get("Properties") or {}
        for path in create_only_paths(self.type_of(logical_id), self.region):
            value: Any = properties
            for part in path:
                value = value.get(part) if isinstance(value, Mapping) else None
            why = self.cause(value) if value is not None else None
            if why:
                return f"its create-only {'.'.join(path)} {why}"
        return None

    def grow(self) -> None:
        while True:
            grown = False
            for logical_id, resource in self.resources.items():
                if logical_id in self.replaced or not isinstance(resource, Mapping):
                    continue
                why = self.replacement_cause(logical_id, resource)
                if why:
                    self.replaced[logical_id] = why
                    grown = True
                    continue
                rtype = self.type_of(logical_id)
                for prop in self.changed_properties(resource):
                    for attribute in ATTRIBUTES_CHANGED_BY_UPDATE.get((rtype, prop), ()):
                        if (logical_id, attribute) not in self.new_attributes:
                            self.new_attributes.add((logical_id, attribute))
                            grown = True
            if not grown:
                return


def _own_name_property(rtype: str, region: str) -> str | None:
    """The create-only property that names the resource itself (BucketName, GroupName, Name), not another one
    it refers to (a flow log's LogGroupName)."""
    kind = rtype.rsplit("::", 1)[-1]
    for path in create_only_paths(rtype, region):
        prop = path[0]
        if len(path) == 1 and (
            prop == "Name" or (prop.endswith("Name") and kind.endswith(prop[: -len("Name")]))
        ):
            return prop
    return None


def _effects_of(state: Propagation, logical_id: str, resource: Mapping[str, Any]) -> list[Effect]:
    rtype = state.type_of(logical_id)
    replaced = logical_id in state.replaced
    changed = state.changed_properties(resource)
    effects: list[Effect] = []
    if resource.get("Condition") in state.conditions:
        # RetainExceptOnCreate deletes only when the create that made the resource rolls back; an update keeps it.
        kept = resource.get("DeletionPolicy") in (RETAIN, RETAIN_EXCEPT_ON_CREATE)
        effects.append(
            Effect(
                logical_id,
                ADDED_OR_REMOVED,
                Outcome.IN_PLACE,
                f"exists only when {resource['Condition']} holds"
                + (
                    f"; removed, it stays in the account (DeletionPolicy {resource['DeletionPolicy']})"
                    if kept
                    else ""
                ),
            )
        )
    change = Change(logical_id, resource, replaced, frozenset(changed), state)
    failing = [f.reason for f in FACTS if f.resource_type == rtype and f.applies(change)]
    name = _own_name_property(rtype, state.region)
    properties = resource.get("Properties") or {}
    if replaced and name in properties and state.cause(properties[name]) is None:
        failing.append(CUSTOM_NAME_REASON)
    if failing:
        effects += [Effect(logical_id, FAILS, Outcome.NEW_STACK, reason) for reason in failing]
    if replaced:
        why = state.replaced[logical_id]
        if resource.get("UpdateReplacePolicy") == RETAIN:
            why += "; the old one stays in the account, outside the stack (UpdateReplacePolicy Retain)"
        effects.append(Effect(logical_id, REPLACED, Outcome.REPLACES, why))
        return effects
    if not changed:
        return effects
    rolling = (resource.get("UpdatePolicy") or {}).get("AutoScalingRollingUpdate")
    triggers = sorted(ROLLING_UPDATE_TRIGGERS.intersection(changed))
    if rtype == "AWS::AutoScaling::AutoScalingGroup" and rolling is not None and triggers:
        reason = f"{_changes(triggers)}: the rolling update replaces every instance, batch by batch"
        effects.append(Effect(logical_id, ROLLS, Outcome.ROLLS_INSTANCES, reason))
    elif any((rtype, prop) in ATTRIBUTES_CHANGED_BY_UPDATE for prop in changed):
        effects.append(Effect(logical_id, NEW_VERSION, Outcome.IN_PLACE, _changes(changed)))
    else:
        effects.append(Effect(logical_id, UPDATED, Outcome.IN_PLACE, _changes(changed)))
    return effects


def _changes(properties: Iterable[str]) -> str:
    names = list(properties)
    return f"its {', '.join(names)} {'changes' if len(names) == 1 else 'change'}"


def outcome_of(doc: Mapping[str, Any], parameter: str, region: str = DEFAULT_REGION) -> ParameterOutcome:
    decided = frozenset(n for n, ps in condition_parameters(doc).items() if parameter in ps)
    state = Propagation(doc, parameter, decided, region)
    state.grow()
    effects: list[Effect] = []
    for logical_id, resource in (doc.get("Resources") or {}).items():
        if isinstance(resource, Mapping):
            effects += _effects_of(state, logical_id, resource)
    return ParameterOutcome(parameter, tuple(effects))


def update_outcomes(doc: Mapping[str, Any], region: str = DEFAULT_REGION) -> dict[str, ParameterOutcome]:
    """Every parameter of the template, in the template's order."""
    return {p: outcome_of(doc, p, region) for p in doc.get("Parameters") or {}}


def name_parameters(doc: Mapping[str, Any], region: str = DEFAULT_REGION) -> list[str]:
    """The parameters that custom resource names derive from: a second stack with the same values collides."""
    found: dict[str, None] = {}
    params = doc.get("Parameters") or {}
    for resource in (doc.get("Resources") or {}).values():
        name = _own_name_property(str(resource.get("Type", "")), region)
        value = (resource.get("Properties") or {}).get(name) if name else None
        for ref, attribute in references(value):
            if attribute is None and ref in params:
                found[ref] = None
    return list(found)

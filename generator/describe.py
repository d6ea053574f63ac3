"""Facts about a template read from its dict: components, capabilities, stateful resources, conditions.

Everything here is derived from the template itself, so the hand-off page stays true when the stack changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from cfnspec.capabilities import TRANSFORM, to_acknowledge
from cfnspec.limits import RETAIN_EXCEPT_ON_CREATE
from cfnspec.stateful import NAME_PROPERTIES as NAME_PROPERTIES  # read by the page modules
from cfnspec.stateful import left_on_delete

Template = Mapping[str, Any]


def resources(t: Template) -> Mapping[str, Mapping[str, Any]]:
    return t.get("Resources", {})


def tag_value(resource: Mapping[str, Any], key: str) -> str | None:
    """A literal tag value from a resource's Tags (a Key/Value list or an object), or from tags nested deeper
    in its properties (e.g. a launch template's TagSpecifications)."""
    props = resource.get("Properties", {})
    tags = props.get("Tags")
    if isinstance(tags, dict) and isinstance(tags.get(key), str):
        return str(tags[key])
    return _nested_tag(props, key)


def _nested_tag(value: Any, key: str) -> str | None:
    if isinstance(value, dict):
        if value.get("Key") == key and isinstance(value.get("Value"), str):
            return str(value["Value"])
        value = list(value.values())
    if isinstance(value, list):
        for inner in value:
            found = _nested_tag(inner, key)
            if found is not None:
                return found
    return None


def references(value: Any) -> Iterator[str]:
    """Names used by Ref, Fn::GetAtt and Fn::Sub inside a value, in order of appearance."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                yield from (m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
                if isinstance(inner, list):
                    yield from references(inner[1:])
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def service_of(resource_type: str) -> str:
    parts = resource_type.split("::")
    return parts[1].lower() if len(parts) > 1 else resource_type


# A resource that cannot carry tags (a wait-condition handle, a service-linked role, a policy) can name its
# component in its Metadata: {"Component": "load-balancer"}.
COMPONENT_METADATA_KEY = "Component"


def declared_component(resource: Mapping[str, Any]) -> str | None:
    """The component a resource declares: its literal Component tag, else its Metadata hint."""
    tagged = tag_value(resource, "Component")
    if tagged:
        return tagged
    hint = resource.get("Metadata", {}).get(COMPONENT_METADATA_KEY)
    return hint if isinstance(hint, str) and hint else None


def _outgoing(resource: Mapping[str, Any]) -> list[str]:
    """What a resource points at: references in its Properties, then in its Metadata."""
    return [*references(resource.get("Properties", {})), *references(resource.get("Metadata", {}))]


def _incoming(res: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Logical id -> the resources that reference it or depend on it, in template order."""
    pointed: dict[str, list[str]] = {}
    for logical_id, resource in res.items():
        depends = resource.get("DependsOn", [])
        targets = [*_outgoing(resource), *([depends] if isinstance(depends, str) else depends)]
        for target in dict.fromkeys(targets):
            if target in res and target != logical_id:
                pointed.setdefault(target, []).append(logical_id)
    return pointed


def components(t: Template) -> dict[str, list[str]]:
    """Component name -> logical ids, in template order, components sorted by name.

    A resource's own Component tag (or Metadata hint) wins. Any other resource belongs, in this order, to:
    the first resource of the same AWS service it references (a route to its route table); the component
    most tagged resources of its service share (a dashboard to the alarms'); the first resource of any
    service it references (a wait-condition handle to the listeners its Metadata names); the component most
    of the resources that reference or depend on it share (a service-linked role to the group that uses
    it); and failing all of these, its service's name.
    """
    res = resources(t)
    declared = {i: declared_component(r) for i, r in res.items()}
    by_service: dict[str, list[str]] = {}
    for logical_id, component in declared.items():
        if component:
            by_service.setdefault(service_of(str(res[logical_id].get("Type", ""))), []).append(component)
    pointed_at_by = _incoming(res)
    found: dict[str, str | None] = {}

    def majority(votes: list[str]) -> str | None:
        if not votes:
            return None
        leader = max(dict.fromkeys(votes), key=votes.count)
        return leader if votes.count(leader) * 2 > len(votes) else None

    def component_of(logical_id: str, visiting: frozenset[str]) -> tuple[str | None, bool]:
        """(component, whether the answer is final); an answer cut short by a reference cycle is not kept."""
        if declared.get(logical_id):
            return declared[logical_id], True
        if logical_id in found:
            return found[logical_id], True
        if logical_id in visiting:
            return None, False
        visiting = visiting | {logical_id}
        final = True

        def first(candidates: list[str]) -> str | None:
            nonlocal final
            for candidate in candidates:
                component, complete = component_of(candidate, visiting)
                final &= complete
                if component:
                    return component
            return None

        resource = res[logical_id]
        service = service_of(str(resource.get("Type", "")))
        outgoing = [r for r in dict.fromkeys(_outgoing(resource)) if r in res and r != logical_id]
        same_service = [r for r in outgoing if service_of(str(res[r].get("Type", ""))) == service]
        result = first(same_service) or majority(by_service.get(service, [])) or first(outgoing)
        if result is None:
            votes = []
            for referrer in pointed_at_by.get(logical_id, []):
                component, complete = component_of(referrer, visiting)
                final &= complete
                if component:
                    votes.append(component)
            result = max(dict.fromkeys(votes), key=votes.count) if votes else None
        if final or len(visiting) == 1:
            found[logical_id] = result
        return result, final

    groups: dict[str, list[str]] = {}
    for logical_id, resource in res.items():
        name = component_of(logical_id, frozenset())[0] or service_of(str(resource.get("Type", "")))
        groups.setdefault(name, []).append(logical_id)
    return dict(sorted(groups.items()))


def capabilities(t: Template) -> list[tuple[str, list[str]]]:
    """(capability, logical ids that need it) for every capability a change set must acknowledge
    (cfnspec.capabilities.to_acknowledge, without the Transform marker)."""
    return [(cap, [i for i in ids if i != TRANSFORM]) for cap, ids in to_acknowledge(t).items()]


def stateful(t: Template) -> list[tuple[str, Mapping[str, Any]]]:
    """Resources CloudFormation leaves behind (or snapshots) on delete, in template order."""
    return [
        (logical_id, resource) for logical_id, resource in resources(t).items() if left_on_delete(resource)
    ]


def kept_after_failed_create(t: Template) -> list[str]:
    """Logical ids a rolled-back first create leaves behind: RetainExceptOnCreate resources are deleted then."""
    return [i for i, r in stateful(t) if r.get("DeletionPolicy") != RETAIN_EXCEPT_ON_CREATE]


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def expression(value: Any) -> str:
    """A readable form of a condition or value expression: Fn::Equals [Ref X, ""] -> X = ''."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict) and len(value) == 1:
        key, inner = next(iter(value.items()))
        if key == "Ref":
            return str(inner)
        if key == "Condition":
            return f"condition {inner}"
        if key == "Fn::Equals":
            return f"{expression(inner[0])} = {expression(inner[1])}"
        if key == "Fn::Not":
            operand = inner[0]
            if isinstance(operand, dict) and "Fn::Equals" in operand:
                left, right = operand["Fn::Equals"]
                return f"{expression(left)} ≠ {expression(right)}"
            return f"not ({expression(operand)})"
        if key == "Fn::Or" and (choices := _one_of(value)) is not None:
            subject, options = choices
            return f"{subject} is one of " + ", ".join(options)
        if key in ("Fn::And", "Fn::Or"):
            joiner = " and " if key == "Fn::And" else " or "
            return joiner.join(f"({expression(v)})" for v in inner)
    return compact(value)


def _one_of(value: Any) -> tuple[str, list[str]] | None:
    """(subject, options) when a condition is an Fn::Or tree of Fn::Equals on one subject."""
    if isinstance(value, dict) and "Fn::Or" in value:
        parts = [_one_of(v) for v in value["Fn::Or"]]
        if any(p is None for p in parts):
            return None
        subjects = {p[0] for p in parts if p}
        return (subjects.pop(), [o for p in parts if p for o in p[1]]) if len(subjects) == 1 else None
    if isinstance(value, dict) and "Fn::Equals" in value:
        left, right = value["Fn::Equals"]
        if isinstance(right, str):
            return expression(left), [expression(right)]
    return None


def export_name(output: Mapping[str, Any]) -> str | None:
    """The export name pattern of an output, with the stack name as <stack-name>."""
    name = output.get("Export", {}).get("Name")
    if name is None:
        return None
    if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str):
        return name["Fn::Sub"].replace("${AWS::StackName}", "<stack-name>")
    if isinstance(name, str):
        return name
    return compact(name)


def interface(t: Template) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    """Console parameter groups (label, names) and parameter labels from AWS::CloudFormation::Interface."""
    meta = t.get("Metadata", {}).get("AWS::CloudFormation::Interface", {})
    groups = [
        (str(g.get("Label", {}).get("default", "")), list(g.get("Parameters", [])))
        for g in meta.get("ParameterGroups", [])
    ]
    labels = {name: str(v.get("default", "")) for name, v in meta.get("ParameterLabels", {}).items()}
    return groups, labels


def service_linked_roles(t: Template) -> list[tuple[str, Mapping[str, Any]]]:
    return [(k, r) for k, r in resources(t).items() if r.get("Type") == "AWS::IAM::ServiceLinkedRole"]


def condition_parameter(t: Template, condition: str) -> str | None:
    """The parameter a simple condition tests (Fn::Equals [Ref P, value] or its negation), if any."""
    body = t.get("Conditions", {}).get(condition)
    if isinstance(body, dict) and "Fn::Not" in body:
        body = body["Fn::Not"][0]
    if isinstance(body, dict) and "Fn::Equals" in body:
        for side in body["Fn::Equals"]:
            if isinstance(side, dict) and "Ref" in side:
                return str(side["Ref"])
    return None


def deletion_protection_parameters(t: Template) -> list[tuple[str, str]]:
    """(logical id, parameter) for each resource whose deletion protection a parameter switches on.

    Finds a `deletion_protection.enabled` attribute (load balancers) or a property named DeletionProtection...
    whose value is a Ref to a parameter.
    """
    params = t.get("Parameters", {})
    found: list[tuple[str, str]] = []

    def walk(logical_id: str, value: Any) -> None:
        if isinstance(value, dict):
            if value.get("Key") == "deletion_protection.enabled":
                _add(logical_id, value.get("Value"))
            for key, inner in value.items():
                if key.startswith("DeletionProtection"):
                    _add(logical_id, inner)
                walk(logical_id, inner)
        elif isinstance(value, list):
            for inner in value:
                walk(logical_id, inner)

    def _add(logical_id: str, value: Any) -> None:
        if isinstance(value, dict) and value.get("Ref") in params and (logical_id, value["Ref"]) not in found:
            found.append((logical_id, str(value["Ref"])))

    for logical_id, resource in resources(t).items():
        walk(logical_id, resource.get("Properties", {}))
    return found


def has_type(t: Template, *types: str) -> bool:
    return any(r.get("Type") in types for r in resources(t).values())

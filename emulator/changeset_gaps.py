"""Change sets that list what AWS lists: moto compares raw resource JSON and nothing else.

moto (5.2) lists a resource whose Condition is false as an Add, lists nothing for a parameter-only update, and
gives no Replacement, Scope or Details. Here both templates are resolved with their own parameter values and
Conditions (emulator.resolved), and a change set lists:
- Add / Remove for a resource that appears / disappears (a Condition turning true or false included);
- Modify for a resource whose resolved properties or metadata change, with Replacement "True" when a create-only
  property of its resource schema (cfnspec.schemas) changes, "Conditional" when that cannot be decided, else
  "False", and one Details entry per changed top-level property, as AWS writes them.
A resource that only refers to a replaced one is not listed (AWS lists it with a dynamic evaluation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.cloudformation.models import Change, ChangeSet, Stack, cloudformation_backends

from cfnspec.resolve import UNRESOLVED, contains_unresolved
from cfnspec.schemas import create_only_paths
from emulator.resolved import Resolved, parameter_text, resolve_template

# Resource attributes that change what CloudFormation does, not the resource: AWS lists no change for them alone.
_NOT_COMPARED = ("Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy")


def _exports(stack: Stack) -> dict[str, str]:
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    return {name: str(export.value) for name, export in backend.exports.items()}


def deployed_state(stack: Stack) -> Resolved:
    """The stack as it stands: its template under its resolved parameters (an empty one for REVIEW_IN_PROGRESS)."""
    doc = stack.template_dict if isinstance(getattr(stack, "template_dict", None), dict) else {}
    texts = {k: parameter_text(v) for k, v in stack.resource_map.resolved_parameters.items()}
    return resolve_template(doc, texts, stack.stack_id, stack.name, _exports(stack))


def proposed_state(stack: Stack, doc: Mapping[str, Any], given: Mapping[str, Any]) -> Resolved:
    """A template with the change set's parameters: given values, else defaults (as CloudFormation does).

    moto already put the previous value in place of UsePreviousValue; an SSM parameter's path is looked up as
    moto's own update will look it up.
    """
    texts: dict[str, str] = {}
    for name, spec in (doc.get("Parameters") or {}).items():
        value = given.get(name, (spec or {}).get("Default"))
        if value is None:
            continue
        text = parameter_text(value)
        ptype = str((spec or {}).get("Type", ""))
        if ptype.startswith("AWS::SSM::Parameter::") and text.startswith("/"):
            text = parameter_text(stack.resource_map.parse_ssm_parameter(text, ptype))
        texts[name] = text
    return resolve_template(doc, texts, stack.stack_id, stack.name, _exports(stack))


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _references(node: Any) -> set[str]:
    """Names a raw template value refers to with Ref or inside Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _references(item)
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                found |= {part.split("}")[0] for part in str(text).split("${")[1:]}
                found |= _references(value[1:] if isinstance(value, list) else [])
            else:
                found |= _references(value)
    return found


def _differs(old: Any, new: Any, raw_old: Any, raw_new: Any, changed_parameters: set[str]) -> str | None:
    """ "Always" when the value certainly changes, "Conditionally" when it may, None when it does not."""
    if contains_unresolved(old) or contains_unresolved(new) or old is UNRESOLVED or new is UNRESOLVED:
        if raw_old != raw_new or _references(raw_new) & changed_parameters:
            return "Conditionally"
        return None
    return "Always" if old != new else None


def _detail(name: str, recreation: str, raw_old: Any, raw_new: Any, changed: set[str]) -> dict[str, Any]:
    causing = sorted(_references(raw_new) & changed)
    detail: dict[str, Any] = {
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
        "Evaluation": "Static",
        "ChangeSource": "DirectModification" if raw_old != raw_new or not causing else "ParameterReference",
    }
    if detail["ChangeSource"] == "ParameterReference":
        detail["CausingEntity"] = causing[0]
    return detail


def modification(
    logical_id: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    raw_old: Any,
    raw_new: Any,
    changed: set[str],
) -> dict[str, Any] | None:
    """Replacement, Scope and Details of a resource present on both sides; None when nothing changes."""
    rtype = str(new.get("Type", ""))
    if old.get("Type") != rtype:
        target = {"Attribute": "Properties", "Name": "Type", "RequiresRecreation": "Always"}
        return {"Replacement": "True", "Scope": ["Properties"], "Details": [{"Target": target}]}
    old_props, new_props = old.get("Properties") or {}, new.get("Properties") or {}
    raw_old_props, raw_new_props = raw_old.get("Properties") or {}, raw_new.get("Properties") or {}
    create_only = create_only_paths(rtype)
    details, scope, replacement = [], [], "False"
    for name in dict.fromkeys([*old_props, *new_props]):
        a, b, ra, rb = (
            old_props.get(name),
            new_props.get(name),
            raw_old_props.get(name),
            raw_new_props.get(name),
        )
        if not _differs(a, b, ra, rb, changed):
            continue
        recreation = "Never"
        for path in (p for p in create_only if p[0] == name):
            found = _differs(
                _at(a, path[1:]), _at(b, path[1:]), _at(ra, path[1:]), _at(rb, path[1:]), changed
            )
            if found == "Always" or (found and recreation == "Never"):
                recreation = found
        details.append(_detail(name, recreation, ra, rb, changed))
        scope.append("Tags" if name == "Tags" else "Properties")
        if recreation == "Always":
            replacement = "True"
        elif recreation == "Conditionally" and replacement == "False":
            replacement = "Conditional"
    others = [k for k in dict.fromkeys([*old, *new]) if k not in ("Type", "Properties", *_NOT_COMPARED)]
    for key in others:
        if _differs(old.get(key), new.get(key), raw_old.get(key), raw_new.get(key), changed):
            scope.append(key)
    if not scope:
        return None
    return {"Replacement": replacement, "Scope": list(dict.fromkeys(scope)), "Details": details}


def _physical_id(stack: Stack, logical_id: str) -> str | None:
    resource = stack.resource_map._parsed_resources.get(logical_id)
    physical = getattr(resource, "physical_resource_id", None)
    return str(physical) if physical else None


def _change(action: str, logical_id: str, rtype: str, physical: str | None, **extra: Any) -> Change:
    change = Change(action=action, logical_resource_id=logical_id, resource_type=rtype)
    # moto serialises attributes by their snake_case member names (ResourceChange in botocore's model).
    change.physical_resource_id = physical  # type: ignore[attr-defined]
    change.replacement = extra.get("Replacement")  # type: ignore[attr-defined]
    change.scope = extra.get("Scope", [])  # type: ignore[attr-defined]
    change.details = extra.get("Details", [])  # type: ignore[attr-defined]
    return change


def resource_changes(stack: Stack, before: Resolved, after: Resolved) -> list[Change]:
    changed = {
        name
        for name in set(before.parameters) | set(after.parameters)
        if before.parameters.get(name) != after.parameters.get(name)
    }
    changes = []
    for logical_id, new in after.resources.items():
        old = before.resources.get(logical_id)
        rtype = str(new.get("Type", ""))
        if old is None:
            changes.append(_change("Add", logical_id, rtype, None))
            continue
        found = modification(
            logical_id, old, new, before.raw.get(logical_id) or {}, after.raw.get(logical_id) or {}, changed
        )
        if found:
            changes.append(_change("Modify", logical_id, rtype, _physical_id(stack, logical_id), **found))
    for logical_id, old in before.resources.items():
        if logical_id not in after.resources:
            rtype = str(old.get("Type", ""))
            changes.append(_change("Remove", logical_id, rtype, _physical_id(stack, logical_id)))
    return changes


def diff(self: ChangeSet) -> list[Change]:
    """ChangeSet.diff: what AWS would list for this change set's template and parameters."""
    before = deployed_state(self.stack)
    after = proposed_state(self.stack, self.template_dict or {}, self.parameters or {})
    return resource_changes(self.stack, before, after)


def patches() -> list[tuple[Any, str, Any]]:
    return [(ChangeSet, "diff", diff)]

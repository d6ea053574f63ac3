"""Offline replacement prediction: resolve the deployed and the new template, compare create-only properties.

The change set is not the only witness: an endpoint may list no change for a parameter-only update, and a
Replacement value can be missing. Both templates are resolved with their own parameter values (Ref, pseudo
parameters, Fn::Sub, Fn::Join, Fn::Select, Fn::If on conditions that can be evaluated); a property whose value
cannot be resolved is UNKNOWN, and an UNKNOWN that might differ counts as a possible replacement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cfnspec.limits import DEFAULT_REGION
from deployer.guard import Prediction


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNKNOWN: Any = _Marker("UNKNOWN")
NO_VALUE: Any = _Marker("NO_VALUE")
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class Scope:
    """What a template is resolved with: parameter values, pseudo parameters, its conditions and resources."""

    parameters: Mapping[str, Any]
    pseudo: Mapping[str, Any]
    doc: Mapping[str, Any]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in (self.doc.get("Resources") or {}):
            return f"{{Ref:{name}}}"  # same resource, same token: equal on both sides unless it is replaced
        return UNKNOWN


def pseudo_parameters(stack_id: str, stack_name: str) -> dict[str, str]:
    """From the stack ARN: arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/UUID."""
    parts = stack_id.split(":")
    if len(parts) < 6:
        return {"AWS::StackName": stack_name}
    partition, region, account = parts[1], parts[3], parts[4]
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::URLSuffix": suffix,
    }


def parameter_values(
    doc: Mapping[str, Any], given: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Given values, else the previous value (UsePreviousValue), else the template default."""
    values: dict[str, Any] = {}
    for name, spec in (doc.get("Parameters") or {}).items():
        value = given.get(name, (previous or {}).get(name))
        if value is None and isinstance(spec, Mapping):
            value = spec.get("Default")
        if value is None or value == "****":  # NoEcho values come back masked
            values[name] = UNKNOWN
            continue
        ptype = str(spec.get("Type", "")) if isinstance(spec, Mapping) else ""
        if ptype.startswith("AWS::SSM::Parameter::Value"):
            values[name] = f"{{SSM:{value}}}"  # the same parameter name is taken to hold the same value
        elif ptype.startswith("List<") or ptype == "CommaDelimitedList":
            values[name] = [v.strip() for v in str(value).split(",")]
        else:
            values[name] = str(value)
    return values


def resolve(value: Any, scope: Scope) -> Any:
    if isinstance(value, list):
        items = [resolve(v, scope) for v in value]
        return [v for v in items if v is not NO_VALUE]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        handler = _FUNCTIONS.get(key)
        if handler:
            return handler(arg, scope)
        if key.startswith("Fn::"):
            return UNKNOWN  # GetAZs, ImportValue, FindInMap with unknowns, ...: not decidable offline
    out = {k: resolve(v, scope) for k, v in value.items()}
    return {k: v for k, v in out.items() if v is not NO_VALUE}


def _ref(arg: Any, scope: Scope) -> Any:
    return scope.ref(arg) if isinstance(arg, str) else UNKNOWN


def _get_att(arg: Any, scope: Scope) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    return f"{{GetAtt:{'.'.join(str(a) for a in arg)}}}" if isinstance(arg, list) else UNKNOWN


def _sub(arg: Any, scope: Scope) -> Any:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1]) if len(arg) == 2 else ("", {})
    local = {k: resolve(v, scope) for k, v in (variables or {}).items()}
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1)
        if name in local:
            found = local[name]
        elif "." in name:
            found = _get_att(name, scope)
        else:
            found = scope.ref(name)
        if not isinstance(found, str):
            unknown = True
            return ""
        return found

    result = _SUB_VAR.sub(replace, str(text)).replace("${!", "${")
    return UNKNOWN if unknown else result


def _join(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return UNKNOWN
    items = resolve(arg[1], scope)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return UNKNOWN
    return str(arg[0]).join(items)


def _select(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return UNKNOWN
    index, items = resolve(arg[0], scope), resolve(arg[1], scope)
    try:
        return items[int(index)] if isinstance(items, list) else UNKNOWN
    except (ValueError, IndexError, TypeError):
        return UNKNOWN


def _split(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return UNKNOWN
    text = resolve(arg[1], scope)
    return text.split(str(arg[0])) if isinstance(text, str) else UNKNOWN


def _if(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 3:
        return UNKNOWN
    truth = condition(arg[0], scope)
    return UNKNOWN if truth is None else resolve(arg[1] if truth else arg[2], scope)


def _find_in_map(arg: Any, scope: Scope) -> Any:
    keys = [resolve(a, scope) for a in arg] if isinstance(arg, list) and len(arg) == 3 else []
    if len(keys) != 3 or not all(isinstance(k, str) for k in keys):
        return UNKNOWN
    try:
        return resolve(scope.doc["Mappings"][keys[0]][keys[1]][keys[2]], scope)
    except (KeyError, TypeError):
        return UNKNOWN


def _base64(arg: Any, scope: Scope) -> Any:
    inner = resolve(arg, scope)
    return UNKNOWN if inner is UNKNOWN else {"Fn::Base64": inner}


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": _base64,
}


def condition(expr: Any, scope: Scope, depth: int = 0) -> bool | None:
    """True / False, or None when it depends on something unknown."""
    if depth > 20:
        return None
    if isinstance(expr, str):
        named = (scope.doc.get("Conditions") or {}).get(expr)
        return None if named is None else condition(named, scope, depth + 1)
    if not isinstance(expr, Mapping) or len(expr) != 1:
        return None
    ((key, arg),) = expr.items()
    if key == "Condition":
        return condition(arg, scope, depth + 1)
    if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
        left, right = resolve(arg[0], scope), resolve(arg[1], scope)
        if left is UNKNOWN or right is UNKNOWN:
            return None
        return str(left) == str(right)
    if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
        inner = condition(arg[0], scope, depth + 1)
        return None if inner is None else not inner
    if key in {"Fn::And", "Fn::Or"} and isinstance(arg, list):
        values = [condition(a, scope, depth + 1) for a in arg]
        decisive = key == "Fn::Or"  # a True decides an Or, a False decides an And
        if decisive in values:
            return decisive
        return None if None in values else not decisive
    return None


def _contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


@cache
def create_only_paths(resource_type: str, region: str = DEFAULT_REGION) -> tuple[tuple[str, ...], ...]:
    """createOnlyProperties of the resource provider schema that cfn-lint ships, as property paths."""
    # Imported late: loading cfn-lint takes a while, and only updates of stateful templates need it.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema._exceptions import ResourceNotFoundError

    schema: Mapping[str, Any] = {}
    # A region cfn-lint has no schemas for (a new one, an emulator's) falls back to the default region's.
    for where in dict.fromkeys([region, DEFAULT_REGION]):
        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(where, resource_type).schema
            break
        except (KeyError, ResourceNotFoundError):  # an unknown region / an unknown or custom type
            continue
    paths = []
    for pointer in schema.get("createOnlyProperties") or []:
        parts = [p for p in str(pointer).split("/") if p][1:]  # drop the leading "properties"
        if "*" in parts:
            parts = parts[: parts.index("*")]  # compare the whole list when the schema points inside it
        if parts:
            paths.append(tuple(parts))
    return tuple(dict.fromkeys(paths))


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if value is UNKNOWN:
            return UNKNOWN
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
            if _contains_unknown(before) or _contains_unknown(after):
                changed.append(".".join(path))
                certain = False
            elif before != after:
                changed.append(".".join(path))
        if changed:
            predictions.append(Prediction(logical_id, rtype, tuple(changed), certain))
    return predictions

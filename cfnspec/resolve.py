"""Intrinsic functions resolved as CloudFormation would, for a template, its parameter values and pseudo parameters.

Ref, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If (with the Conditions section, Fn::Equals, Fn::And, Fn::Or,
Fn::Not), Fn::FindInMap, Fn::GetAZs and Fn::Base64; `present` says whether a resource exists under its Condition.
Whatever cannot be known offline resolves to UNRESOLVED: a NoEcho parameter, an unknown function, Fn::ImportValue,
and, unless the scope names them symbolically, resources and their attributes (they exist only once the stack
does). What UNRESOLVED means is the caller's to decide: the replacement prediction counts it as a possible change
(and a Condition it leaves undecided as a possible removal), preflight as something it cannot check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNRESOLVED: Any = _Marker("UNRESOLVED")
NO_VALUE: Any = _Marker("NO_VALUE")  # Ref AWS::NoValue: the property or list item is left out
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")
_MAX_CONDITION_DEPTH = 20  # a Conditions section that refers to itself in a loop stays undecided


@dataclass(frozen=True)
class Scope:
    """What a template is resolved with: parameter values, pseudo parameters, the template itself.

    symbolic_resources: a Ref or Fn::GetAtt of a resource becomes a token ("{Ref:Bucket}") that is equal for the
    same resource in two templates, instead of UNRESOLVED. availability_zones: what Fn::GetAZs returns; None
    leaves it UNRESOLVED.
    """

    parameters: Mapping[str, Any]
    pseudo: Mapping[str, Any]
    doc: Mapping[str, Any]
    symbolic_resources: bool = False
    availability_zones: Callable[[], list[str]] | None = None

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if self.symbolic_resources and name in (self.doc.get("Resources") or {}):
            return f"{{Ref:{name}}}"  # same resource, same token: equal on both sides unless it is replaced
        return UNRESOLVED


def pseudo_parameters(stack_id: str, stack_name: str) -> dict[str, str]:
    """From the stack ARN: arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/UUID."""
    parts = stack_id.split(":")
    if len(parts) < 6:
        return {"AWS::StackName": stack_name}
    return {**account_pseudo_parameters(parts[1], parts[3], parts[4], stack_name), "AWS::StackId": stack_id}


def account_pseudo_parameters(partition: str, region: str, account: str, stack_name: str) -> dict[str, str]:
    """The pseudo parameters known before the stack exists (no AWS::StackId yet)."""
    return {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": url_suffix(partition),
    }


def url_suffix(partition: str) -> str:
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


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
            values[name] = UNRESOLVED
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
    """The value CloudFormation would use; NO_VALUE at the top when it is Ref AWS::NoValue."""
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
            return UNRESOLVED  # ImportValue, Cidr, ...: not decidable offline
    out = {k: resolve(v, scope) for k, v in value.items()}
    return {k: v for k, v in out.items() if v is not NO_VALUE}


def contains_unresolved(value: Any) -> bool:
    if value is UNRESOLVED:
        return True
    if isinstance(value, Mapping):
        return any(contains_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unresolved(v) for v in value)
    return False


# Stand-ins that are equal on both sides of a comparison but are not the value itself: a condition over one
# cannot be decided offline.
_TOKENS = ("{SSM:", "{Ref:", "{GetAtt:")


def _has_token(value: Any) -> bool:
    if isinstance(value, str):
        return any(token in value for token in _TOKENS)
    if isinstance(value, Mapping):
        return any(_has_token(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_token(v) for v in value)
    return False


def _ref(arg: Any, scope: Scope) -> Any:
    return scope.ref(arg) if isinstance(arg, str) else UNRESOLVED


def _get_att(arg: Any, scope: Scope) -> Any:
    if not scope.symbolic_resources:
        return UNRESOLVED
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    return f"{{GetAtt:{'.'.join(str(a) for a in arg)}}}" if isinstance(arg, list) else UNRESOLVED


def _sub(arg: Any, scope: Scope) -> Any:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1]) if len(arg) == 2 else ("", {})
    local = {k: resolve(v, scope) for k, v in (variables or {}).items()}
    unresolved = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        if name in local:
            found = local[name]
        elif "." in name:
            found = _get_att(name, scope)
        else:
            found = scope.ref(name)
        if not isinstance(found, str | int | float) or isinstance(found, bool):
            unresolved = True
            return ""
        return str(found)

    result = _SUB_VAR.sub(replace, str(text)).replace("${!", "${")
    return UNRESOLVED if unresolved else result


def _join(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return UNRESOLVED
    items = resolve(arg[1], scope)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return UNRESOLVED
    return str(arg[0]).join(items)


def _select(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return UNRESOLVED
    index, items = resolve(arg[0], scope), resolve(arg[1], scope)
    try:
        return items[int(index)] if isinstance(items, list) else UNRESOLVED
    except (ValueError, IndexError, TypeError):
        return UNRESOLVED


def _split(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return UNRESOLVED
    text = resolve(arg[1], scope)
    return text.split(str(arg[0])) if isinstance(text, str) else UNRESOLVED


def _if(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, list) or len(arg) != 3:
        return UNRESOLVED
    truth = condition(arg[0], scope)
    return UNRESOLVED if truth is None else resolve(arg[1] if truth else arg[2], scope)


def _find_in_map(arg: Any, scope: Scope) -> Any:
    keys = [resolve(a, scope) for a in arg] if isinstance(arg, list) and len(arg) == 3 else []
    if len(keys) != 3 or not all(isinstance(k, str) for k in keys):
        return UNRESOLVED
    try:
        return resolve(scope.doc["Mappings"][keys[0]][keys[1]][keys[2]], scope)
    except (KeyError, TypeError):
        return UNRESOLVED


def _get_azs(arg: Any, scope: Scope) -> Any:
    return UNRESOLVED if scope.availability_zones is None else list(scope.availability_zones())


def _base64(arg: Any, scope: Scope) -> Any:
    inner = resolve(arg, scope)
    return UNRESOLVED if inner is UNRESOLVED else {"Fn::Base64": inner}


_FUNCTIONS: dict[str, Callable[[Any, Scope], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": _get_azs,
    "Fn::Base64": _base64,
}


def present(resource: Mapping[str, Any], scope: Scope) -> bool | None:
    """Whether a resource exists under its Condition: True without one, None when that cannot be known offline."""
    name = resource.get("Condition")
    return True if name is None else condition(str(name), scope)


def condition(expr: Any, scope: Scope, depth: int = 0) -> bool | None:
    """A condition's name or expression: True / False, or None when it depends on something unresolved."""
    if depth > _MAX_CONDITION_DEPTH:
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
        if any(contains_unresolved(v) or _has_token(v) for v in (left, right)):
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

"""Evaluate a KMS key policy for one request, as IAM does: principal, action wildcards, resource, conditions.

Enough of IAM's evaluation logic to answer "may this principal call this action on this key": an explicit Deny
wins, otherwise an Allow must match. A statement that names only the account root delegates to IAM policies; it
does not by itself let a service-linked role (whose IAM policy AWS owns and grants no KMS use) use the key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Principal:
    kind: str  # "AWS" (an IAM ARN) or "Service" (e.g. logs.us-east-1.amazonaws.com)
    value: str

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str  # kms:Encrypt
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys, lower-case


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_wildcard(str(p), action, case=False) for p in patterns)


def is_account_root(value: str) -> bool:
    return bool(re.fullmatch(r"(arn:aws[a-z-]*:iam::)?\d{12}(:root)?", value))


def principal_matches(spec: Any, principal: Principal) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    if any(v == "*" for v in as_list(spec.get("AWS"))):
        return True
    if principal.kind == "Service":
        return principal.value in [str(v) for v in as_list(spec.get("Service"))]
    # An account root (or bare account id) delegates to IAM policies: not a grant to this principal.
    return principal.value in [str(v) for v in as_list(spec.get("AWS")) if not is_account_root(str(v))]


def _string_op(base: str, expected: str, actual: str) -> bool:
    if base in {"StringEquals", "StringNotEquals"}:
        return expected == actual
    if base in {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}:
        return expected.lower() == actual.lower()
    if base in {"StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals"}:
        return _wildcard(expected, actual)
    if base == "Bool":
        return expected.lower() == actual.lower()
    raise KeyError(base)


def condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> bool:
    base = operator.split(":", 1)[-1]
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    actual = context.get(key.lower())
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)]
    if base == "Null":
        return (actual is None) == (values[0].lower() == "true")
    negated = "Not" in base
    if actual is None:
        return if_exists or negated
    try:
        hit = any(_string_op(base, value, actual) for value in values)
    except KeyError:
        return False  # an operator this evaluator does not know is never assumed to allow
    return not hit if negated else hit


def statement_matches(statement: Mapping[str, Any], request: Request, key_arn: str) -> bool:
    if "Principal" in statement and not principal_matches(statement["Principal"], request.principal):
        return False
    if "NotPrincipal" in statement:
        return False
    if "Action" in statement and not action_matches(as_list(statement["Action"]), request.action):
        return False
    if "NotAction" in statement and action_matches(as_list(statement["NotAction"]), request.action):
        return False
    resources = [str(r) for r in as_list(statement.get("Resource", "*"))]
    if not any(_wildcard(r, key_arn) for r in resources):
        return False
    conditions = statement.get("Condition") or {}
    return all(
        condition_holds(str(op), str(key), expected, request.context)
        for op, pairs in conditions.items()
        for key, expected in (pairs or {}).items()
    )


def allows(policy: Mapping[str, Any], request: Request, key_arn: str) -> bool:
    statements = [s for s in as_list(policy.get("Statement")) if isinstance(s, Mapping)]
    matching = [s for s in statements if statement_matches(s, request, key_arn)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return False
    return any(s.get("Effect") == "Allow" for s in matching)


def grant_allows(grants: Iterable[Mapping[str, Any]], request: Request) -> bool:
    operation = request.action.split(":", 1)[-1]
    return any(
        grant.get("GranteePrincipal") == request.principal.value
        and any(fnmatch.fnmatchcase(operation, str(op)) for op in grant.get("Operations") or [])
        for grant in grants
    )

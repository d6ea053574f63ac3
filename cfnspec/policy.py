"""Evaluate a resource policy (a KMS key policy) for one request, as IAM does.

Principal, action wildcards, resource and condition operators: an explicit Deny wins, otherwise an Allow must
match, otherwise the request is implicitly denied. A statement that names an account root delegates to the
account's IAM policies: it lets a principal of that account in only when the request says its IAM policies allow
the action (a service-linked role's IAM policy is owned by AWS and grants no KMS use, so it never does).

Stack policies are not evaluated here: they have actions of their own (Update:*), resources written as
LogicalResourceId/..., NotResource, and no principals or conditions that matter.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"  # an explicit Deny
    IMPLICIT_DENY = "ImplicitDeny"


class UnsupportedOperator(ValueError):
    """A condition operator this evaluator does not know."""


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
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys (compared case-insensitively)
    iam_allows: bool = False  # whether the principal's own IAM policies allow the action


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_wildcard(str(p), action, case=False) for p in patterns)


def pattern_matches(patterns: Iterable[str], value: str) -> bool:
    """A resource ARN (or a pattern read literally) against ARN patterns, case-sensitively as IAM compares them."""
    return any(_wildcard(str(p), value) for p in patterns)


_ROOT = re.compile(r"(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::root)?")


def is_account_root(value: str) -> bool:
    return _ROOT.fullmatch(value) is not None


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else None


def principal_matches(spec: Any, request: Request) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    principal = request.principal
    aws = [str(v) for v in as_list(spec.get("AWS"))]
    if "*" in aws:
        return True
    if principal.kind == "Service":
        return principal.value in [str(v) for v in as_list(spec.get("Service"))]
    for candidate in aws:
        root = _ROOT.fullmatch(candidate)
        if root is None:
            if candidate == principal.value:
                return True
        elif request.iam_allows and _account_of(principal.value) == root.group(1):
            return True
    return False


_EXACT = {"StringEquals", "StringNotEquals"}
_IGNORE_CASE = {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "Bool"}
_PATTERN = {"StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals"}
_OPERATORS = _EXACT | _IGNORE_CASE | _PATTERN | {"Null"}


def _string_op(base: str, expected: str, actual: str) -> bool:
    if base in _EXACT:
        return expected == actual
    if base in _IGNORE_CASE:
        return expected.lower() == actual.lower()
    return _wildcard(expected, actual)


def condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> bool:
    """One operator and key of a Condition block. Raises UnsupportedOperator for an operator it does not know."""
    base = operator.split(":", 1)[-1]  # ForAnyValue:StringLike -> StringLike
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise UnsupportedOperator(f"the policy evaluator does not know the condition operator {operator}")
    actual = {k.lower(): v for k, v in context.items()}.get(key.lower())
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)]
    if base == "Null":
        return (actual is None) == (values[0].lower() == "true")
    negated = "Not" in base
    if actual is None:
        return if_exists or negated
    hit = any(_string_op(base, value, str(actual)) for value in values)
    return not hit if negated else hit


def statement_matches(statement: Mapping[str, Any], request: Request, resource: str) -> bool:
    if "Principal" in statement and not principal_matches(statement["Principal"], request):
        return False
    if "NotPrincipal" in statement:
        return False
    if "Action" in statement and not action_matches(as_list(statement["Action"]), request.action):
        return False
    if "NotAction" in statement and action_matches(as_list(statement["NotAction"]), request.action):
        return False
    resources = [str(r) for r in as_list(statement.get("Resource", "*"))]
    if not any(_wildcard(r, resource) for r in resources):
        return False
    conditions = statement.get("Condition") or {}
    return all(
        condition_holds(str(op), str(key), expected, request.context)
        for op, pairs in conditions.items()
        for key, expected in (pairs or {}).items()
    )


def decide(policy: Mapping[str, Any], request: Request, resource: str) -> Decision:
    """Raises UnsupportedOperator when a statement uses a condition operator this evaluator does not know."""
    statements = [s for s in as_list(policy.get("Statement")) if isinstance(s, Mapping)]
    matching = [s for s in statements if statement_matches(s, request, resource)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return Decision.DENY
    return Decision.ALLOW if any(s.get("Effect") == "Allow" for s in matching) else Decision.IMPLICIT_DENY


def allows(policy: Mapping[str, Any], request: Request, resource: str) -> bool:
    """Whether the policy allows the request; a policy this evaluator cannot read fully is never taken to allow."""
    try:
        return decide(policy, request, resource) is Decision.ALLOW
    except UnsupportedOperator:
        return False


def grant_allows(grants: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """KMS grants (ListGrants entries): the grantee and one of the grant's operations must match."""
    operation = request.action.split(":", 1)[-1]
    return any(
        grant.get("GranteePrincipal") == request.principal.value
        and any(fnmatch.fnmatchcase(operation, str(op)) for op in grant.get("Operations") or [])
        for grant in grants
    )

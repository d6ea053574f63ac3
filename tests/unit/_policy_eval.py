"""A small evaluator of resource-policy statements, for the condition operators the stack's policies use.

It decides one request the way IAM does for a single resource policy: an explicit Deny wins, else an Allow,
else an implicit deny. Values written as CloudFormation intrinsics are rendered first for a sample account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "EnvironmentSuffix": "dev",
}


@dataclass(frozen=True)
class Request:
    action: str
    principal: tuple[str, str]  # ("AWS", role ARN) or ("Service", "logs.amazonaws.com")
    context: dict[str, str] = field(default_factory=dict)
    # Whether the principal's own IAM policies allow the action (what the account-root statement delegates to).
    iam_allows: bool = False


def render(value: Any) -> Any:
    """A statement value with Fn::Sub and Ref of pseudo parameters resolved for the sample account."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return PSEUDO[value["Ref"]]
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    kind, who = request.principal
    for candidate in _as_list(principal.get(kind, [])):
        if candidate == "*" or candidate == who:
            return True
        # The account root delegates to the account's IAM policies.
        if kind == "AWS" and candidate == f"arn:aws:iam::{ACCOUNT}:root":
            return who.startswith(f"arn:aws:iam::{ACCOUNT}:") and request.iam_allows
    return False


def _operator_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if key not in context:
        return if_exists
    actual = context[key]
    options = [str(v) for v in _as_list(expected)]
    if base == "StringEquals":
        return actual in options
    if base in ("StringLike", "ArnLike"):
        return any(fnmatchcase(actual, pattern) for pattern in options)
    if base == "Bool":
        return actual.lower() in [o.lower() for o in options]
    raise AssertionError(f"the evaluator does not know the condition operator {operator}")


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    return all(
        _operator_holds(operator, key, expected, context)
        for operator, pairs in condition.items()
        for key, expected in pairs.items()
    )


def _applies(statement: dict[str, Any], request: Request) -> bool:
    actions = _as_list(statement["Action"])
    return (
        _principal_matches(statement["Principal"], request)
        and any(fnmatchcase(request.action.lower(), a.lower()) for a in actions)
        and _conditions_hold(statement.get("Condition", {}), request.context)
    )


def decide(policy: dict[str, Any], request: Request) -> str:
    """ "Deny" (explicit), "Allow", or "ImplicitDeny" for one request against one rendered policy."""
    applying = [s for s in render(policy)["Statement"] if _applies(s, request)]
    if any(s["Effect"] == "Deny" for s in applying):
        return "Deny"
    return "Allow" if applying else "ImplicitDeny"

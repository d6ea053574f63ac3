"""The stack's key policy decided for one request, for a sample account, through cfnspec's policy evaluator.

Values written as CloudFormation intrinsics are resolved first with cfnspec's resolver, as the stack would see
them in the sample account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cfnspec import policy
from cfnspec.resolve import Scope, contains_unresolved, resolve

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
PARAMETERS = {"EnvironmentSuffix": "dev"}
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@dataclass(frozen=True)
class Request:
    action: str
    principal: tuple[str, str]  # ("AWS", role ARN) or ("Service", "logs.amazonaws.com")
    context: dict[str, str] = field(default_factory=dict)
    # Whether the principal's own IAM policies allow the action (what the account-root statement delegates to).
    iam_allows: bool = False


def render(value: Any) -> Any:
    """A policy with its intrinsic functions resolved for the sample account."""
    rendered = resolve(value, Scope(PARAMETERS, PSEUDO, {}))
    assert not contains_unresolved(rendered), f"the policy refers to something not known offline: {value}"
    return rendered


def decide(key_policy: dict[str, Any], request: Request) -> str:
    """ "Deny" (explicit), "Allow", or "ImplicitDeny" for one request against the key policy."""
    kind, who = request.principal
    asked = policy.Request(policy.Principal(kind, who), request.action, request.context, request.iam_allows)
    return policy.decide(render(key_policy), asked, KEY_ARN).value

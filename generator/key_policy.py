"""The key policy a brought KMS key needs: the template's own key's statements, with placeholders for what
CloudFormation would fill in (account, region, partition, parameter values).

Derived from the template, never written by hand, so the hand-off page cannot drift from the key the stack
creates itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PSEUDO_PLACEHOLDERS = {
    "AWS::AccountId": ("<ACCOUNT_ID>", "your 12-digit account id"),
    "AWS::Region": ("<REGION>", "the stack's region, e.g. us-east-1"),
    "AWS::Partition": ("<PARTITION>", "`aws` (`aws-cn` in China, `aws-us-gov` in GovCloud)"),
    "AWS::URLSuffix": ("<URL_SUFFIX>", "`amazonaws.com` (`amazonaws.com.cn` in China)"),
    "AWS::StackName": ("<STACK_NAME>", "the stack's name"),
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


class UnrenderablePolicy(ValueError):
    """The key policy uses an intrinsic function that has no single value outside a stack (e.g. Fn::If)."""


def placeholder(name: str) -> str:
    """<ACCOUNT_ID> for a pseudo parameter, <ENVIRONMENT_SUFFIX> for a parameter named EnvironmentSuffix."""
    if name in PSEUDO_PLACEHOLDERS:
        return PSEUDO_PLACEHOLDERS[name][0]
    return "<" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper() + ">"


def _sub(text: str, variables: Mapping[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return str(resolve(variables[name]))
        return placeholder(name)

    return _SUB_VARIABLE.sub(one, text)


def resolve(value: Any) -> Any:
    """The value with Ref and Fn::Sub replaced by placeholders; raises UnrenderablePolicy for anything else."""
    if isinstance(value, list):
        return [resolve(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        key, inner = next(iter(value.items()))
        if key == "Ref" and isinstance(inner, str):
            return placeholder(inner)
        if key == "Fn::Sub":
            text, variables = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
            return _sub(str(text), variables)
        if key.startswith("Fn::"):
            raise UnrenderablePolicy(f"{key} has no value outside a stack")
    return {key: resolve(inner) for key, inner in value.items()}


def template_key_statements(t: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The KeyPolicy statements of the template's KMS key, as the template writes them (empty: no key)."""
    for resource in (t.get("Resources") or {}).values():
        if isinstance(resource, Mapping) and resource.get("Type") == "AWS::KMS::Key":
            policy = (resource.get("Properties") or {}).get("KeyPolicy") or {}
            statements = policy.get("Statement", []) if isinstance(policy, Mapping) else []
            return [s for s in statements if isinstance(s, Mapping)]
    return []


def brought_key_policy(t: Mapping[str, Any]) -> dict[str, Any] | None:
    """The policy document for a brought key, or None when the template creates no key to copy it from."""
    statements = template_key_statements(t)
    if not statements:
        return None
    return {"Version": "2012-10-17", "Statement": [resolve(s) for s in statements]}


def placeholders_used(policy: Mapping[str, Any], t: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(placeholder, what to put there) for each placeholder the policy contains, in a stable order."""
    text = str(policy)
    found = [(p, what) for p, what in PSEUDO_PLACEHOLDERS.values() if p in text]
    for name in t.get("Parameters") or {}:
        if placeholder(name) in text:
            found.append((placeholder(name), f"the stack's {name} parameter value"))
    return found

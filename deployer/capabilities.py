"""Which capabilities a template needs (IAM resources, named IAM resources, macros), checked before any AWS call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deployer.errors import BadInput

IAM_TYPES = frozenset(
    {
        "AWS::IAM::AccessKey",
        "AWS::IAM::Group",
        "AWS::IAM::GroupPolicy",
        "AWS::IAM::InstanceProfile",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::IAM::RolePolicy",
        "AWS::IAM::User",
        "AWS::IAM::UserPolicy",
        "AWS::IAM::UserToGroupAddition",
    }
)
# A custom name on one of these needs CAPABILITY_NAMED_IAM instead of CAPABILITY_IAM.
IAM_NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


def required_capabilities(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """Capability -> the logical ids (or 'Transform') that need it."""
    needs: dict[str, list[str]] = {}
    resources = doc.get("Resources") or {}
    for logical_id, resource in resources.items():
        rtype = resource.get("Type", "") if isinstance(resource, Mapping) else ""
        props = resource.get("Properties") or {} if isinstance(resource, Mapping) else {}
        if rtype in IAM_TYPES:
            named = IAM_NAME_PROPERTIES.get(rtype) in props
            needs.setdefault("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM", []).append(logical_id)
    if doc.get("Transform") or _has_fn_transform(doc):
        needs.setdefault("CAPABILITY_AUTO_EXPAND", []).append("Transform")
    return needs


def _has_fn_transform(node: Any) -> bool:
    if isinstance(node, Mapping):
        return "Fn::Transform" in node or any(_has_fn_transform(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_fn_transform(v) for v in node)
    return False


def check_capabilities(doc: Mapping[str, Any], given: Iterable[str]) -> list[str]:
    """The capabilities to send; raises BadInput naming what is missing and why it is needed."""
    acknowledged = set(given)
    bad = sorted(acknowledged - set(CAPABILITIES))
    if bad:
        raise BadInput(f"unknown capabilities {bad}; valid: {', '.join(CAPABILITIES)}")
    missing = []
    for capability, ids in sorted(required_capabilities(doc).items()):
        # CAPABILITY_NAMED_IAM acknowledges unnamed IAM resources too.
        if capability == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in acknowledged:
            continue
        if capability not in acknowledged:
            missing.append(f"{capability} (needed by {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
    if missing:
        wanted = sorted(acknowledged | {m.split()[0] for m in missing})
        raise BadInput(
            "the template needs capabilities that were not acknowledged: " + "; ".join(missing),
            hint=f"add --capabilities {' '.join(wanted)} after reviewing what the template creates",
        )
    return sorted(acknowledged)

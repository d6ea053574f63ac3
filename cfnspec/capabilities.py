"""Which capabilities a template makes a change set acknowledge, read from the template itself.

From the CloudFormation CreateChangeSet reference: these IAM resource types need CAPABILITY_IAM, or
CAPABILITY_NAMED_IAM when they carry a custom name; a Transform (or Fn::Transform) needs CAPABILITY_AUTO_EXPAND.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# IAM resource type -> the property that gives it a custom name (None: the type has no name property).
IAM_NAME_PROPERTIES: Mapping[str, str | None] = {
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::GroupPolicy": None,
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Policy": None,
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::RolePolicy": None,
    "AWS::IAM::User": "UserName",
    "AWS::IAM::UserPolicy": None,
    "AWS::IAM::UserToGroupAddition": None,
}
CAPABILITY_IAM = "CAPABILITY_IAM"
CAPABILITY_NAMED_IAM = "CAPABILITY_NAMED_IAM"
CAPABILITY_AUTO_EXPAND = "CAPABILITY_AUTO_EXPAND"
CAPABILITIES = (CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND)
# What the console asks the user to tick for each capability.
CONSOLE_ACKNOWLEDGEMENTS: Mapping[str, str] = {
    CAPABILITY_IAM: "I acknowledge that AWS CloudFormation might create IAM resources.",
    CAPABILITY_NAMED_IAM: "I acknowledge that AWS CloudFormation might create IAM resources with custom names.",
    CAPABILITY_AUTO_EXPAND: "I acknowledge that AWS CloudFormation might require the following capability: "
    f"{CAPABILITY_AUTO_EXPAND}",
}
TRANSFORM = "Transform"


def _has_fn_transform(node: Any) -> bool:
    if isinstance(node, Mapping):
        return "Fn::Transform" in node or any(_has_fn_transform(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_fn_transform(v) for v in node)
    return False


def required_capabilities(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """Capability -> the logical ids that need it (or "Transform" for a macro), in template order."""
    needs: dict[str, list[str]] = {}
    for logical_id, resource in (doc.get("Resources") or {}).items():
        if not isinstance(resource, Mapping) or resource.get("Type") not in IAM_NAME_PROPERTIES:
            continue
        name_property = IAM_NAME_PROPERTIES[str(resource["Type"])]
        named = name_property is not None and name_property in (resource.get("Properties") or {})
        needs.setdefault(CAPABILITY_NAMED_IAM if named else CAPABILITY_IAM, []).append(logical_id)
    if doc.get("Transform") or _has_fn_transform(doc):
        needs.setdefault(CAPABILITY_AUTO_EXPAND, []).append(TRANSFORM)
    return needs


def acknowledged_by(capability: str, given: Iterable[str]) -> bool:
    """Whether the given capabilities acknowledge this one: CAPABILITY_NAMED_IAM covers unnamed IAM resources too."""
    given = set(given)
    return capability in given or (capability == CAPABILITY_IAM and CAPABILITY_NAMED_IAM in given)


def to_acknowledge(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """The fewest capabilities that acknowledge the template -> the logical ids needing each, in template order.

    When the template needs CAPABILITY_NAMED_IAM it is the only IAM capability, listed for every IAM resource.
    """
    needs = required_capabilities(doc)
    if CAPABILITY_NAMED_IAM in needs:
        iam = {*needs.pop(CAPABILITY_NAMED_IAM), *needs.pop(CAPABILITY_IAM, [])}
        ordered = [i for i in (doc.get("Resources") or {}) if i in iam]
        needs = {CAPABILITY_NAMED_IAM: ordered, **needs}
    return needs

"""Which resources hold data, and which outlive their stack: one answer for the data-loss guard, the stack policy,
preflight's leftover check, the import of retained resources and the hand-off page. What each type is (stateful,
its name property, how it is imported, removed and checked) is one entry in cfnspec/resource_kinds.py.

Two questions, both answered from the template alone:
- stateful: replacing or removing the resource would lose data, because of its type or because the template keeps
  it (a retaining DeletionPolicy or UpdateReplacePolicy says it holds something worth keeping);
- left on delete: deleting the stack leaves the resource (Retain, RetainExceptOnCreate) or a snapshot of it
  (Snapshot) behind. Only DeletionPolicy decides this: UpdateReplacePolicy applies to a replacement, not a delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec import resource_kinds
from cfnspec.limits import RETAIN, RETAIN_EXCEPT_ON_CREATE, RETAINING_POLICIES

# Types whose replacement or removal loses data whatever the template says about them, and the property that
# gives each type its custom name (a name a leftover still holds makes the create fail, and an import finds the
# resource by it): both read from the one table of resource types.
STATEFUL_TYPES = resource_kinds.STATEFUL_TYPES
NAME_PROPERTIES = resource_kinds.NAME_PROPERTIES
# DeletionPolicy values that keep the resource itself (Snapshot deletes it and keeps a snapshot).
KEEPS_RESOURCE = frozenset({RETAIN, RETAIN_EXCEPT_ON_CREATE})
_POLICY_KEYS = ("DeletionPolicy", "UpdateReplacePolicy")


def why_stateful(resource: Mapping[str, Any]) -> str | None:
    """Its type, or the policy that keeps it ("DeletionPolicy Snapshot"); None when it holds nothing."""
    rtype = str(resource.get("Type", ""))
    if rtype in STATEFUL_TYPES:
        return rtype
    for key in _POLICY_KEYS:
        if resource.get(key) in RETAINING_POLICIES:
            return f"{key} {resource[key]}"
    return None


def is_stateful(resource: Mapping[str, Any]) -> bool:
    return why_stateful(resource) is not None


def left_on_delete(resource: Mapping[str, Any]) -> bool:
    """Deleting the stack leaves the resource, or a snapshot of it, in the account."""
    return resource.get("DeletionPolicy") in RETAINING_POLICIES


def kept_on_delete(resource: Mapping[str, Any]) -> bool:
    """Deleting the stack leaves the resource itself, under its name, in the account."""
    return resource.get("DeletionPolicy") in KEEPS_RESOURCE

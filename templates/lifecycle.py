"""What happens to a resource's data when the stack deletes or replaces it."""

from __future__ import annotations

from cfnspec.limits import RETAIN, RETAIN_EXCEPT_ON_CREATE


def retained() -> dict[str, str]:
    """DeletionPolicy and UpdateReplacePolicy that keep the resource (and its data) after the stack lets go,
    even when the create that made it rolls back. For what a rolled-back create cannot delete (a bucket that
    already holds objects) or must not (a role the whole account shares)."""
    return {"DeletionPolicy": RETAIN, "UpdateReplacePolicy": RETAIN}


def retained_unless_its_create_fails() -> dict[str, str]:
    """Kept on stack deletion and replacement, but deleted when the operation that created it rolls back.

    A failed first create then leaves nothing with a fixed name behind to block the retry. UpdateReplacePolicy
    has no RetainExceptOnCreate (CloudFormation accepts Delete, Retain and Snapshot there): a replaced
    resource is kept.
    """
    return {"DeletionPolicy": RETAIN_EXCEPT_ON_CREATE, "UpdateReplacePolicy": RETAIN}

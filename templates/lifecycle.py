"""What happens to a resource's data when the stack deletes or replaces it."""

from __future__ import annotations

from cfnspec.limits import RETAIN


def retained() -> dict[str, str]:
    """DeletionPolicy and UpdateReplacePolicy that keep the resource (and its data) after the stack lets go."""
    return {"DeletionPolicy": RETAIN, "UpdateReplacePolicy": RETAIN}

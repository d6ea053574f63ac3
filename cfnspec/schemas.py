"""What the resource provider schemas that cfn-lint ships say about a resource type."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from cfnspec.limits import DEFAULT_REGION


@cache
def resource_schema(resource_type: str, region: str = DEFAULT_REGION) -> Mapping[str, Any]:
    """The resource provider schema cfn-lint ships for a type; empty for an unknown or custom type.

    A region cfn-lint has no schemas for (a new one, an emulator's) falls back to the default region's.
    """
    # Imported late: loading cfn-lint takes a while, and only some callers need it.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema._exceptions import ResourceNotFoundError

    for where in dict.fromkeys([region, DEFAULT_REGION]):
        try:
            found: Mapping[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
                where, resource_type
            ).schema
            return found
        except (KeyError, ResourceNotFoundError):  # an unknown region / an unknown or custom type
            continue
    return {}


@cache
def create_only_paths(resource_type: str, region: str = DEFAULT_REGION) -> tuple[tuple[str, ...], ...]:
    """createOnlyProperties of the resource provider schema that cfn-lint ships, as property paths.

    A pointer inside a list ("/properties/Tags/*/Key") is cut at the list: the whole list is the create-only value.
    An unknown or custom type has none.
    """
    paths = []
    for pointer in resource_schema(resource_type, region).get("createOnlyProperties") or []:
        parts = [p for p in str(pointer).split("/") if p][1:]  # drop the leading "properties"
        if "*" in parts:
            parts = parts[: parts.index("*")]
        if parts:
            paths.append(tuple(parts))
    return tuple(dict.fromkeys(paths))

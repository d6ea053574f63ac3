"""Small readers of template dicts and of what troposphere knows about tagging."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

import troposphere


@cache
def taggable_types() -> frozenset[str]:
    """Every CloudFormation resource type whose troposphere class has a Tags property."""
    found = set()
    for info in pkgutil.iter_modules(troposphere.__path__):
        try:
            module = importlib.import_module(f"troposphere.{info.name}")
        except ImportError:  # optional helpers with extra dependencies
            continue
        for obj in vars(module).values():
            rtype = getattr(obj, "resource_type", None)
            if isinstance(obj, type) and isinstance(rtype, str) and "Tags" in getattr(obj, "props", {}):
                found.add(rtype)
    return frozenset(found)


def tag_keys(resource: dict[str, Any]) -> set[str]:
    return {tag["Key"] for tag in resource.get("Properties", {}).get("Tags", [])}


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

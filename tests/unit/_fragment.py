"""The network and security components on their own template, and what troposphere knows about tagging.

Once every component builds, tests can read the whole stack instead: replace `fragment_dict` by
`tests.template_helpers.stack_dict` and the assertions stay the same.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from functools import cache
from typing import Any

import troposphere
from troposphere import Template

from templates.network import Network, add_network
from templates.parameters import add_parameters
from templates.security import Encryption, Security, add_encryption, add_security


def build_fragment() -> tuple[Template, Encryption, Network, Security]:
    t = Template()
    p = add_parameters(t)
    enc = add_encryption(t, p)
    net = add_network(t, p, enc)
    sec = add_security(t, p, net, enc)
    return t, enc, net, sec


@cache
def _fragment_json() -> str:
    return json.dumps(build_fragment()[0].to_dict())


def fragment_dict() -> dict[str, Any]:
    """A fresh copy per call, so no test can change what another one sees."""
    return json.loads(_fragment_json())


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

"""The capabilities given against those the template needs (cfnspec.capabilities), before any AWS call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cfnspec.capabilities import CAPABILITIES, acknowledged_by, required_capabilities
from deployer.errors import BadInput


def check_capabilities(doc: Mapping[str, Any], given: Iterable[str]) -> list[str]:
    """The capabilities to send; raises BadInput naming what is missing and why it is needed."""
    acknowledged = set(given)
    bad = sorted(acknowledged - set(CAPABILITIES))
    if bad:
        raise BadInput(f"unknown capabilities {bad}; valid: {', '.join(CAPABILITIES)}")
    missing = []
    for capability, ids in sorted(required_capabilities(doc).items()):
        if not acknowledged_by(capability, acknowledged):
            missing.append(f"{capability} (needed by {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
    if missing:
        wanted = sorted(acknowledged | {m.split()[0] for m in missing})
        raise BadInput(
            "the template needs capabilities that were not acknowledged: " + "; ".join(missing),
            hint=f"add --capabilities {' '.join(wanted)} after reviewing what the template creates",
        )
    return sorted(acknowledged)

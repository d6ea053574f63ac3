"""Stack tags CloudFormation accepts: one rule for generate.py's parameter-file check and deploy.py's inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec.limits import MAX_STACK_TAGS, TAG_KEY_LENGTH, TAG_VALUE_LENGTH

RESERVED_PREFIX = "aws:"


def tag_problems(tags: Mapping[str, Any]) -> list[str]:
    """What CloudFormation would refuse in these stack tags, one line each; empty when it accepts them."""
    problems = []
    if len(tags) > MAX_STACK_TAGS:
        problems.append(f"{len(tags)} tags given; a stack takes at most {MAX_STACK_TAGS}")
    for key, value in tags.items():
        if key.lower().startswith(RESERVED_PREFIX):
            problems.append(f"tag {key!r}: the {RESERVED_PREFIX} prefix is reserved")
        if not TAG_KEY_LENGTH[0] <= len(key) <= TAG_KEY_LENGTH[1]:
            problems.append(f"tag {key!r}: keys are {TAG_KEY_LENGTH[0]} to {TAG_KEY_LENGTH[1]} characters")
        if not isinstance(value, str):
            problems.append(f"tag {key!r}: the value must be a string, got {type(value).__name__}")
        elif not TAG_VALUE_LENGTH[0] <= len(value) <= TAG_VALUE_LENGTH[1]:
            problems.append(
                f"tag {key!r}: values are {TAG_VALUE_LENGTH[0]} to {TAG_VALUE_LENGTH[1]} characters, "
                f"this one has {len(value)}"
            )
    return problems

"""Template JSON as written to output/: the same template always gives the same bytes."""

from __future__ import annotations

import json
from typing import Any

from troposphere import Template

# The order the CloudFormation documentation uses. troposphere emits Outputs before Parameters and the format
# version near the end; a reader of output/ expects the usual order, and a fixed order keeps diffs small.
SECTION_ORDER = (
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Transform",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Globals",
    "Resources",
    "Outputs",
)


def template_dict(t: Template) -> dict[str, Any]:
    """The template as plain data, top-level sections in documentation order, everything else as authored."""
    raw = t.to_dict()
    ordered = {key: raw[key] for key in SECTION_ORDER if key in raw}
    ordered.update((key, value) for key, value in raw.items() if key not in ordered)
    return ordered


def to_json(data: Any) -> str:
    """2-space indented JSON with a trailing newline.

    Keys are not sorted: troposphere keeps insertion order, which the builders fix, and authored order reads
    better (Type before Properties, parameters in console order). ASCII-only output avoids any dependence on
    the platform's file encoding.
    """
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def render(t: Template) -> str:
    return to_json(template_dict(t))

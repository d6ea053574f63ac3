"""Where moto is slow for this project's templates: the same answers, sooner. Not gaps (emulator/gaps.py): nothing
moto answers changes.

moto parses every template with PyYAML's pure-Python loader and tries JSON only when YAML fails. JSON is YAML, so a
JSON template always goes through the slow path: about 0.25 s for the 131 KB generated template, at least twice per
deploy (the change set, then its execution). For a JSON document both parsers give the same dict, so JSON is tried
first here and moto's own YAML parse is the fallback for everything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.cloudformation.models import ChangeSet, Stack


def _json_first(yaml_parse: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    def parse_template(template: str) -> dict[str, Any]:
        try:
            parsed = json.loads(template)
        except ValueError:
            return yaml_parse(template)
        return parsed if isinstance(parsed, dict) else yaml_parse(template)

    return parse_template


def _change_set_template(self: Any) -> None:
    # moto's ChangeSet parses its template with a copy of Stack.parse_template's body; use the one parser.
    self.template_dict = Stack.parse_template(self.template)


def patches() -> list[tuple[Any, str, Any]]:
    return [
        (Stack, "parse_template", staticmethod(_json_first(vars(Stack)["parse_template"].__func__))),
        (ChangeSet, "_parse_template", _change_set_template),
    ]

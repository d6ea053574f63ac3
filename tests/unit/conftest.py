"""The fully wired web-application stack, built once per session; each test gets its own copy of the dict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from templates.tap_stack import TapStack, compose_tap_stack


@pytest.fixture(scope="session")
def wired() -> TapStack:
    """The stack as tap_stack.py composes it, with what each component returned (read-only: never mutate)."""
    return compose_tap_stack()


@pytest.fixture(scope="session")
def _stack_json(wired: TapStack) -> str:
    return json.dumps(wired.template.to_dict())


@pytest.fixture
def tpl(_stack_json: str) -> dict[str, Any]:
    """A fresh copy of the stack's template dict, so no test can change what another one sees."""
    return dict(json.loads(_stack_json))


@pytest.fixture(scope="session")
def _lint_matches(_stack_json: str) -> list[tuple[str, str]]:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    matches = lint(
        _stack_json, regions=["us-east-1"], config=ManualArgs(regions=["us-east-1"], include_checks=["I"])
    )
    return [
        (str(m.path[1]), f"{m.rule.id} {'/'.join(map(str, m.path))}: {m.message}")
        for m in matches
        if len(m.path) > 1 and m.path[0] == "Resources"
    ]


@pytest.fixture
def lint_findings(_lint_matches: list[tuple[str, str]]) -> Any:
    """cfn-lint findings (informational rules included) on the given resources; the stack is linted once."""

    def on(logical_ids: set[str]) -> list[str]:
        return [finding for logical_id, finding in _lint_matches if logical_id in logical_ids]

    return on

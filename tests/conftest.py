"""Test tiers: each test directory is a tier with its own pytest marker.

When TAP_REQUIRE_TIERS lists tiers (as `make test` does), a tier that collects no test fails the run, and so does
a Python file in a tier directory that pytest would silently not collect because of its name.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
TIERS = ("unit", "deploy", "integration")
HELPER_FILES = {"__init__.py", "conftest.py"}


def _tier_of(path: Path) -> str | None:
    rel = path.relative_to(TESTS).parts
    return rel[0] if rel and rel[0] in TIERS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier_of(Path(str(item.fspath)))
        if tier:
            item.add_marker(getattr(pytest.mark, tier))


def _required_tiers() -> list[str]:
    raw = os.environ.get("TAP_REQUIRE_TIERS", "")
    return [t.strip() for t in raw.split(",") if t.strip()]


def _misnamed_files() -> list[str]:
    bad = []
    for tier in TIERS:
        for path in sorted((TESTS / tier).rglob("*.py")):
            name = path.name
            if name in HELPER_FILES or name.startswith("test_") or name.startswith("_"):
                continue
            bad.append(str(path.relative_to(TESTS.parent)))
    return bad


def pytest_collection_finish(session: pytest.Session) -> None:
    required = _required_tiers()
    if not required:
        return
    problems = []
    for tier in required:
        count = sum(1 for item in session.items if item.get_closest_marker(tier))
        if count == 0:
            problems.append(f"test tier '{tier}' collected no tests (tests/{tier}/test_*.py)")
    problems += [
        f"{f} is in a test directory but pytest does not collect it: name it test_*.py (or _*.py for helpers)"
        for f in _misnamed_files()
    ]
    if problems:
        raise pytest.UsageError("; ".join(problems))

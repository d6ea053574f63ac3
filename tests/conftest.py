"""Test tiers: each test directory is a tier with its own pytest marker.

When TAP_REQUIRE_TIERS lists tiers (as `make test` does), the run fails if a listed tier collects no test, if a test
of a listed tier is skipped, or if a Python file in a tier directory would not be collected because of its name:
a tier can never pass by running nothing. Tests marked `slow` run first (see pytest_collection_modifyitems).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
TIERS = ("unit", "deploy", "integration")
HELPER_FILES = {"__init__.py", "conftest.py"}
_skipped: dict[str, list[str]] = {}


def _tier_of(path: Path) -> str | None:
    try:
        rel = path.relative_to(TESTS).parts
    except ValueError:
        return None
    return rel[0] if rel and rel[0] in TIERS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier_of(Path(str(item.fspath)))
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
    # Tests marked slow (several seconds each) start first: on pytest-xdist's workers the short ones then fill in
    # around them, instead of one worker running a long test alone at the end. No test depends on the order.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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


def _collection_problems(tiers: list[str | None]) -> list[str]:
    """What is wrong with a collection, given the tier of each collected test."""
    problems = [
        f"test tier '{tier}' collected no tests (tests/{tier}/test_*.py)"
        for tier in _required_tiers()
        if tier not in tiers
    ]
    return problems + [
        f"{f} is in a test directory but pytest does not collect it: name it test_*.py (or _*.py for helpers)"
        for f in _misnamed_files()
    ]


def pytest_collection_finish(session: pytest.Session) -> None:
    if not _required_tiers() or session.config.pluginmanager.has_plugin("dsession"):
        return  # nothing required; or pytest-xdist's controller, which checks what its workers collected (below)
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller checks the collection and stops the run
    tiers = [_tier_of(Path(str(item.fspath))) for item in session.items]
    problems = _collection_problems(tiers)
    if problems:
        raise pytest.UsageError("; ".join(problems))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: object, ids: list[str]) -> None:
    """Under pytest-xdist (`-n`): each worker collects every test; the first worker's collection is checked."""
    if not _required_tiers():
        return
    problems = _collection_problems([_tier_of(TESTS.parent / i.split("::", 1)[0]) for i in ids])
    if problems:
        pytest.exit("; ".join(problems), returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        tier = _tier_of(Path(str(report.fspath)).resolve()) if report.fspath else None
        if tier:
            _skipped.setdefault(tier, []).append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    skipped = {tier: ids for tier, ids in _skipped.items() if tier in _required_tiers()}
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for tier, ids in _skipped.items():
        if tier in _required_tiers():
            terminalreporter.write_line(
                f"ERROR: {len(ids)} test(s) of the required tier '{tier}' were skipped: {', '.join(ids)}",
                red=True,
            )

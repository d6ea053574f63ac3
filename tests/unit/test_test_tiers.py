"""The test-tier guard in tests/conftest.py: a tier that runs nothing fails the run (the earlier attempt's
integration tests silently never ran because of a file-naming pattern)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
PASSING = "def test_ok() -> None:\n    assert 1 + 1 == 2\n"
SKIPPING = "import pytest\n\n\ndef test_later() -> None:\n    pytest.skip('no emulator')\n"


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "tests").mkdir()
    shutil.copy(CONFTEST, tmp_path / "tests" / "conftest.py")
    (tmp_path / "tests" / "__init__.py").write_text("")
    for tier in ("unit", "deploy", "integration"):
        (tmp_path / "tests" / tier).mkdir()
        (tmp_path / "tests" / tier / "__init__.py").write_text("")
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\nmarkers = ["unit: u", "deploy: d", "integration: i", "slow: s"]\n'
    )
    return tmp_path


# `make test` runs the tiers on pytest-xdist's workers; the guard holds there as in one process. One worker is enough
# to take xdist's paths (the controller reads what its workers collected and report).
WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["one-process", "xdist"])


def _pytest(root: Path, workers: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAP_REQUIRE_TIERS": "unit,deploy,integration"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


ALL_TIERS = {
    "tests/unit/test_a.py": PASSING,
    "tests/deploy/test_b.py": PASSING,
    "tests/integration/test_c.py": PASSING,
}


@WORKERS
def test_all_tiers_with_tests_pass(tmp_path: Path, workers: list[str]) -> None:
    result = _pytest(_project(tmp_path, ALL_TIERS), workers)
    assert result.returncode == 0, result.stdout + result.stderr


@WORKERS
def test_a_tier_that_collects_nothing_fails_the_run(tmp_path: Path, workers: list[str]) -> None:
    files = {k: v for k, v in ALL_TIERS.items() if "integration" not in k}
    result = _pytest(_project(tmp_path, files), workers)
    assert result.returncode != 0
    assert "test tier 'integration' collected no tests" in result.stdout + result.stderr


def test_a_misnamed_test_file_fails_the_run(tmp_path: Path) -> None:
    # The same check as a tier that collects nothing, under xdist too (tested above): one process is enough here.
    files = {**ALL_TIERS, "tests/integration/integration.test.py": PASSING}
    result = _pytest(_project(tmp_path, files), [])
    assert result.returncode != 0
    assert "tests/integration/integration.test.py is in a test directory but pytest does not collect it" in (
        result.stdout + result.stderr
    )


@WORKERS
def test_a_skipped_test_in_a_required_tier_fails_the_run(tmp_path: Path, workers: list[str]) -> None:
    files = {**ALL_TIERS, "tests/integration/test_d.py": SKIPPING}
    result = _pytest(_project(tmp_path, files), workers)
    assert result.returncode != 0
    assert "1 test(s) of the required tier 'integration' were skipped" in result.stdout


def test_tests_marked_slow_are_collected_first(tmp_path: Path) -> None:
    slow = "import pytest\n\n\n@pytest.mark.slow\ndef test_long() -> None:\n    assert True\n"
    root = _project(tmp_path, {**ALL_TIERS, "tests/integration/test_z.py": slow})
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.splitlines()
    # The slow test first; the others after it in their own order (directories, then files, alphabetically).
    assert listed[:4] == [
        "tests/integration/test_z.py::test_long",
        "tests/deploy/test_b.py::test_ok",
        "tests/integration/test_c.py::test_ok",
        "tests/unit/test_a.py::test_ok",
    ]

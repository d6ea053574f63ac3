"""The lower bounds in pyproject.toml are honest: scripts/check_floor.py installs exactly those versions (once,
cached by version) and builds, lints and checks output/ with them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_output_builds_and_lints_clean_with_the_lowest_declared_versions() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/check_floor.py"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "== generate.py --check: exit 0" in report and "up to date" in report, report
    assert "== deployer against boto3: exit 0" in report, report


def test_every_runtime_dependency_has_a_floor_the_check_installs() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import check_floor
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    pins = check_floor.floors()
    assert set(pins) == {"troposphere", "awacs", "boto3", "botocore", "cfn-lint"}
    assert all(version[0].isdigit() for version in pins.values()), pins

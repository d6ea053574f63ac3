"""The files the README's and docs/deploy.md's example commands write are ignored by git, so a user who follows
them does not commit plan.json or an outputs file by accident; what the project does track is not ignored."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", ROOT / "docs" / "deploy.md")
# Flags whose value is a file the command writes (a placeholder such as FILE.html starts with a capital).
WRITTEN = re.compile(
    r"--(?:changeset-file|report-file|outputs-file|timeline-file|output)\s+([a-z][\w.-]*\.(?:json|md|html|svg))"
)
# The timeline drawings (timeline --output, --timeline-file) are HTML or SVG; named here as well, so both are
# covered whichever of them the examples show.
ALSO = {"timeline.html", "timeline.svg"}

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs git and a checkout"
)


def written_by_examples() -> set[str]:
    found = {name for doc in DOCS for name in WRITTEN.findall(doc.read_text(encoding="utf-8"))}
    return found | ALSO


def ignored(paths: list[str]) -> set[str]:
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    return set(done.stdout.split())


def test_every_file_the_examples_write_is_ignored() -> None:
    names = sorted(written_by_examples())
    assert {"plan.json", "report.md", "stack-outputs.json"} <= set(names), names
    assert set(names) - ignored(names) == set()


def test_no_tracked_file_is_ignored() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    assert ignored(tracked) == set()

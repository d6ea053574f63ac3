"""`generate.py --diff REF | head` ends quietly: the reader closing the pipe is not an error and prints no
traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = 20_000  # one changed line each: far more than a pipe holds, so the writer meets the closed pipe

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        timeout=60,
    )


def template(topic_prefix: str) -> str:
    resources = {
        f"Topic{i}": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{topic_prefix}-{i}"}}
        for i in range(RESOURCES)
    }
    return json.dumps({"Resources": resources})


def test_diff_piped_into_a_reader_that_stops_early_ends_without_a_traceback(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.mkdir()
    git(tmp_path, "init", "-q")
    (output / "big.json").write_text(template("old"))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "old")
    (output / "big.json").write_text(template("new"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "generate.py"), "--diff", "HEAD", "--output-dir", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()  # what `head -1` reads, then it exits
    process.stdout.close()
    errors = process.stderr.read().decode()
    code = process.wait(timeout=120)
    assert first.startswith(b"output/: 1 file(s) changed since HEAD"), first
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
    assert code == 0, errors

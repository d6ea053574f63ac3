"""The README's "Rehearse deploy.py" block runs as printed against the emulator, and so does the emulator example
of docs/deploy.md: the export lines `make emulator` prints, `aws s3 mb`, then deploy.py."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import environment_lines
from emulator.server import MotoServer

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- rehearse-deploy:"
PRINTED_PORT = "127.0.0.1:5000"  # the port the README's lines were printed for (make emulator's default)
EXPECTED_EXIT = re.compile(r"#\s*exit (\d+)")


def marked_block(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def readme_block() -> str:
    return marked_block(ROOT / "README.md")


def commands(block: str) -> list[str]:
    """One command per entry: continuation lines joined, as the shell reads them."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def run_block(block: str, moto: MotoServer, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    bin_dir = Path(sys.executable).parent
    for command in commands(block.replace(PRINTED_PORT, f"127.0.0.1:{moto.port}")):
        if command.startswith("export "):
            key, _, value = command.removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0]
            continue
        expected = EXPECTED_EXIT.search(command)
        argv = shlex.split(command.split("#", 1)[0])
        program = argv[0].removeprefix(".venv/bin/")
        argv[0] = sys.executable if program == "python" else str(bin_dir / program)
        if argv[1:2] == ["deploy.py"]:
            argv[1] = str(ROOT / "deploy.py")
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        want = int(expected.group(1)) if expected else 0
        assert done.returncode == want, f"{command}\n{done.stdout}\n{done.stderr}"


def test_the_export_lines_in_the_readme_are_the_ones_make_emulator_prints() -> None:
    block = readme_block()
    for line in environment_lines(5000):
        assert line in block.splitlines(), line


@pytest.mark.slow
def test_the_readme_rehearsal_runs_as_printed(moto: MotoServer, tmp_path: Path) -> None:
    (tmp_path / "output").symlink_to(ROOT / "output")
    run_block(readme_block(), moto, tmp_path)
    assert (tmp_path / "stack-outputs.json").exists()


def test_the_emulator_example_of_the_reference_runs_as_written(moto: MotoServer, tmp_path: Path) -> None:
    (tmp_path / "output").symlink_to(ROOT / "output")
    run_block(marked_block(ROOT / "docs" / "deploy.md"), moto, tmp_path)

"""The commands deploy.py prints (execute later, resume, run again) paste as they are: they name the interpreter
that ran deploy.py, or the installed script, and carry the --region / --profile / --endpoint-url the user gave."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.errors import ExitCode
from deployer.runtime import invocation
from emulator.server import MotoServer
from tests.deploy.conftest import SMALL_TEMPLATE

ROOT = Path(__file__).resolve().parents[2]


def test_python_deploy_py_is_printed_with_the_interpreter_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    python = tmp_path / ".venv" / "bin" / "python"
    assert invocation("deploy.py", str(python)) == [".venv/bin/python", "deploy.py"]
    assert invocation(str(tmp_path / "deploy.py"), str(python)) == [".venv/bin/python", "deploy.py"]


def test_paths_outside_the_working_directory_stay_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    script = str(tmp_path / "repo" / "deploy.py")
    assert invocation(script, "/usr/bin/python3") == ["/usr/bin/python3", script]


def test_the_installed_script_is_named_as_the_shell_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "tap-deploy"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert invocation(str(script)) == ["tap-deploy"]
    monkeypatch.setenv("PATH", os.defpath)
    assert invocation(str(script)) == ["bin/tap-deploy"]


def test_called_from_python_the_plain_script_name_is_printed() -> None:
    assert invocation("/somewhere/site-packages/pytest/__main__.py", "/usr/bin/python3") == ["deploy.py"]


def test_the_printed_execute_command_runs_as_pasted(moto: MotoServer, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text(json.dumps(SMALL_TEMPLATE))
    connection = ["--region", "eu-west-1", "--endpoint-url", moto.endpoint]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    plan = [sys.executable, "deploy.py", "plan", "--stack-name", "hint", "--template-file", str(template)]
    done = subprocess.run(
        [*plan, *connection], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == ExitCode.CHANGES_PRESENT, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    printed = lines[lines.index("Review mode: nothing executed. To execute this change set later:") + 1]
    argv = shlex.split(printed)
    # Relative when the interpreter is inside the checkout (.venv/bin/python), else absolute.
    assert Path(ROOT, argv[0]).absolute() == Path(sys.executable).absolute(), printed
    assert argv[1:3] == ["deploy.py", "execute"], printed
    assert argv[-4:] == connection, printed
    executed = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert executed.returncode == ExitCode.SUCCESS, executed.stdout + executed.stderr

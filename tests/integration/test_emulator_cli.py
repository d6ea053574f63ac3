"""`tap-emulator` (make emulator): runs in the foreground, prints the lines that point the AWS CLI at it, stops on
Ctrl-C, and refuses a busy port in one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_the_printed_lines_point_the_aws_cli_at_the_emulator_and_ctrl_c_stops_it() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                exports[key] = value
            if line.startswith("Ctrl-C"):
                break
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(exports, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        aws = Path(sys.executable).parent / "aws"
        made = subprocess.run(
            [str(aws), "s3api", "create-bucket", "--bucket", "rehearsal"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr
        listed = subprocess.run(
            [str(aws), "s3api", "list-buckets", "--query", "Buckets[].Name", "--output", "text"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert listed.stdout.split() == ["rehearsal"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "emulator stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_busy_port_is_one_error_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port}" in err and "--port" in err

"""One error path for every command: the manifest and StackSets end like deploy does (130, 143, 5, never 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.errors import ExitCode
from tests.deploy.conftest import SMALL_TEMPLATE, Harness
from tests.deploy.test_network_faults import ROOT, HangingServer

pytestmark = pytest.mark.deploy


@pytest.fixture
def sigterm_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def signal_on_first_call(harness: Harness, signum: int) -> None:
    """The signal arrives as DescribeStackSet answers (a cancelled CI job does not wait for a quiet moment)."""
    harness.stub.add_response("describe_stack_set", {"StackSet": {"StackSetName": "alerts"}})

    def send(**_: object) -> None:
        os.kill(os.getpid(), signum)

    harness.cfn.meta.events.register("after-call.cloudformation", send)


def test_sigterm_during_stackset_status_exits_143_without_a_traceback(
    harness: Harness, sigterm_restored: None
) -> None:
    signal_on_first_call(harness, signal.SIGTERM)
    code = harness.run("stackset", "status", "--stack-set-name", "alerts")
    assert code == ExitCode.TERMINATED, harness.errors
    assert harness.errors.startswith("terminated (SIGTERM): stopped waiting")
    assert "deploy.py stackset status --stack-set-name alerts" in harness.errors
    assert "Traceback" not in harness.errors


def test_ctrl_c_during_stackset_status_exits_130(harness: Harness) -> None:
    signal_on_first_call(harness, signal.SIGINT)
    assert harness.run("stackset", "status", "--stack-set-name", "alerts") == ExitCode.INTERRUPTED
    assert harness.errors.startswith("interrupted: stopped waiting")


def test_an_aws_error_in_stackset_status_exits_5_with_one_line(harness: Harness) -> None:
    harness.stub.add_client_error(
        "describe_stack_set", "AccessDeniedException", "not authorized to DescribeStackSet", 400
    )
    assert harness.run("stackset", "status", "--stack-set-name", "alerts") == ExitCode.AWS_ERROR
    assert harness.errors.startswith("error: AWS error while reading stack set alerts: AccessDeniedException")
    assert len(harness.errors.splitlines()) == 1


def _real_run_stopped_by_sigterm(args: list[str], cwd: Path) -> tuple[int, str]:
    server = HangingServer()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "deploy.py"),
                *args,
                "--endpoint-url",
                server.url,
                "--max-attempts",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        )
        assert server.received.wait(30), "deploy.py never called the endpoint"
        process.send_signal(signal.SIGTERM)
        # A manifest's stacks run in threads that finish their current call before stopping: end that call.
        threading.Timer(1.0, server.release.set).start()
        _, stderr = process.communicate(timeout=30)
    finally:
        server.close()
    return process.returncode, stderr


def test_a_real_sigterm_to_stackset_status_exits_143(tmp_path: Path) -> None:
    code, stderr = _real_run_stopped_by_sigterm(
        ["stackset", "status", "--stack-set-name", "alerts"], tmp_path
    )
    assert code == ExitCode.TERMINATED, stderr
    assert "terminated (SIGTERM)" in stderr and "Traceback" not in stderr


def test_a_real_sigterm_to_manifest_status_exits_143(tmp_path: Path) -> None:
    (tmp_path / "app.json").write_text(json.dumps(SMALL_TEMPLATE), encoding="utf-8")
    manifest = tmp_path / "stacks.toml"
    manifest.write_text(
        '[stacks.app]\ntemplate = "app.json"\nregion = "us-east-1"\naccount = "123456789012"\n',
        encoding="utf-8",
    )
    code, stderr = _real_run_stopped_by_sigterm(["manifest", "status", str(manifest)], tmp_path)
    assert code == ExitCode.TERMINATED, stderr
    assert "terminated (SIGTERM): no new stack was started" in stderr and "Traceback" not in stderr

"""The AWS CLI of tests/cli_server.py answers as the installed one does: same output, same exit status, same
standard input, against the emulator. The rehearsals of the hand-off page run through it, so a difference here
would be a difference the rehearsals cannot see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.server import MotoServer
from tests.cli_server import CLIENT
from tests.handoff_shell import BIN, environment

COMMANDS = [
    pytest.param("aws --version", id="version"),
    pytest.param(
        "aws cloudformation list-stacks --query 'StackSummaries[].StackName' --output json", id="output"
    ),
    pytest.param("aws cloudformation describe-stacks --stack-name tap-no-such-stack", id="service-error"),
    pytest.param("aws cloudformation describe-stacks --no-such-option", id="usage-error"),
    pytest.param(
        "aws cloudformation validate-template --template-body file:///dev/stdin --query Parameters[0].ParameterKey"
        " < small.json",
        id="standard-input",
    ),
    pytest.param("cfn-lint --format parseable small.json; echo lint=$?", id="cfn-lint"),
]


# Small, so that each comparison is quick; the bucket's unknown property is a cfn-lint error (exit 6 with the warning).
SMALL = (
    '{"Parameters": {"Suffix": {"Type": "String"}},'
    ' "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": true}}}}'
)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_served_aws_cli_answers_as_the_installed_one(
    emulator: MotoServer, cli_bin: Path, tmp_path: Path, command: str
) -> None:
    (tmp_path / "small.json").write_text(SMALL)
    served_env = environment(emulator.endpoint, cli_bin)
    installed_env = {**served_env, "PATH": served_env["PATH"].split(":", 1)[1]}
    assert installed_env["PATH"].startswith(str(BIN))

    def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    served, installed = run(served_env), run(installed_env)
    assert (served.returncode, served.stdout, served.stderr) == (
        installed.returncode,
        installed.stdout,
        installed.stderr,
    )
    assert served.stdout or served.stderr


def test_a_missing_server_is_a_clear_error_not_a_silent_success(tmp_path: Path) -> None:
    client = tmp_path / "aws"
    client.write_text(CLIENT.format(python=sys.executable, name="aws", socket=str(tmp_path / "gone.sock")))
    client.chmod(0o755)
    done = subprocess.run([str(client), "--version"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "the test command server at" in done.stderr and "is not running" in done.stderr

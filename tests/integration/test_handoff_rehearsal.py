"""The hand-off page's command blocks, run in order with the AWS CLI against the emulator, as written.

Each block runs in a fresh bash after the page's first block (the shell variables), from a folder that holds a
copy of output/, with only the endpoint and dummy credentials in the environment. A block the page marks
`<!-- not-rehearsable: REASON -->` is skipped, and its reason is reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.server import DUMMY_AWS_ENV, UNSET_AWS_ENV, MotoServer
from tests.handoff_blocks import Block, shell_blocks, variables_block

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "output" / "tap-stack.md"
BIN = Path(sys.executable).parent
BLOCK_TIMEOUT = 600


def _environment(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in UNSET_AWS_ENV}
    env.update(DUMMY_AWS_ENV)
    # The one change to how the commands run: every AWS CLI call goes to the emulator on 127.0.0.1.
    env["AWS_ENDPOINT_URL"] = endpoint
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(block: Block, first: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    prefix = "" if block.index == first.index else first.body + "\n"
    script = "set -euo pipefail\n" + prefix + block.body
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "output", tmp_path / "output")
    return tmp_path


def _page_variables(first: Block, cwd: Path, env: dict[str, str], *names: str) -> list[str]:
    """The values the page's first block gives these variables (run once, as a reader would)."""
    echo = "\n".join(f'printf "%s\\n" "${name}"' for name in names)
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + first.body + "\n" + echo],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=True,
    )
    # The last lines: the variables block prints lines of its own first.
    return done.stdout.splitlines()[-len(names) :]


def _stack_status(cloudformation: Any, stack_name: str) -> str:
    """Read back through the API in this process: starting the AWS CLI for it cost three processes per block."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return "none"
        raise
    return str(stacks[0]["StackStatus"])


def test_every_command_block_of_the_page_runs_in_order_against_the_emulator(
    emulator: MotoServer, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shutil.which("aws", path=str(BIN)), "the AWS CLI is missing: .venv/bin/pip install awscli"
    assert shutil.which("jq"), "jq is missing: the page's commands use it"
    emulator.reset()
    env = _environment(emulator.endpoint)
    blocks = shell_blocks(PAGE.read_text(encoding="utf-8"))
    first = variables_block(blocks)
    region, stack_name = _page_variables(first, workdir, env, "REGION", "STACK_NAME")
    cloudformation = boto3.client(
        "cloudformation",
        region_name=region,
        endpoint_url=emulator.endpoint,
        aws_access_key_id=DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    ran, skipped, states = [], [], []
    for block in blocks:
        if block.not_rehearsable or block.out_of_order:
            skipped.append(f"line {block.line}: {block.not_rehearsable or block.out_of_order}")
            continue
        result = _run(block, first, workdir, env)
        assert result.returncode == 0, (
            f"block at line {block.line} of {PAGE.name} failed with exit {result.returncode}:\n"
            f"{block.body}\n--- stdout\n{result.stdout[-2000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
        ran.append(block.line)
        if "cloudformation" in block.body:
            states.append(_stack_status(cloudformation, stack_name))
    with capsys.disabled():
        print(
            f"\n{PAGE.name}: {len(ran)} blocks ran in order, {len(skipped)} skipped (not rehearsable, or out of order):"
        )
        for line in skipped:
            print(f"  {line}")

    # What the blocks did, read back: created, updated with the example edit, deleted, leftovers removed.
    assert "CREATE_COMPLETE" in states and "UPDATE_COMPLETE" in states, states
    assert states[-1] == "none", states
    buckets = subprocess.run(
        [str(BIN / "aws"), "s3api", "list-buckets", "--query", "Buckets[].Name", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [b for b in json.loads(buckets.stdout) if b.startswith("tap-")] == []
    # The example edit went to the working copy of the parameter file, never to the generated one.
    edited = json.loads((workdir / "tap-stack-dev.parameters.json").read_text())
    generated = json.loads((workdir / "output" / "tap-stack.dev.parameters.json").read_text())
    assert edited["Parameters"] != generated["Parameters"]
    assert generated == json.loads((ROOT / "output" / "tap-stack.dev.parameters.json").read_text())

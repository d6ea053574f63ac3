"""The hand-off page's command blocks, run in order with the AWS CLI against the emulator, as written.

The page's first block (the shell variables) runs once; each later block runs in a new bash with the variables it
set (tests/handoff_shell.py), from a folder that holds a copy of output/, with only the endpoint and dummy
credentials in the environment, and the AWS CLI of tests/cli_server.py. A block the page marks
`<!-- not-rehearsable: REASON -->` is skipped, and its reason is reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.server import DUMMY_AWS_ENV, MotoServer
from tests.handoff_blocks import shell_blocks, variables_block
from tests.handoff_shell import BIN, PAGE, ROOT, PageShell, environment


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "output", tmp_path / "output")
    return tmp_path


def _stack_status(cloudformation: Any, stack_name: str) -> str:
    """Read back through the API in this process: starting the AWS CLI for it cost three processes per block."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return "none"
        raise
    return str(stacks[0]["StackStatus"])


@pytest.mark.slow
def test_every_command_block_of_the_page_runs_in_order_against_the_emulator(
    emulator: MotoServer, cli_bin: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shutil.which("aws", path=str(BIN)), "the AWS CLI is missing: .venv/bin/pip install awscli"
    assert shutil.which("jq"), "jq is missing: the page's commands use it"
    emulator.reset()
    env = environment(emulator.endpoint, cli_bin)
    blocks = shell_blocks(PAGE.read_text(encoding="utf-8"))
    shell = PageShell(variables_block(blocks), workdir, env)
    # The first block a reader runs sets the variables every later block uses: it runs first, as the page says.
    in_order = [b for b in blocks if not (b.not_rehearsable or b.out_of_order)]
    assert in_order[0] == shell.first, f"the first block to run on {PAGE.name} is not the variables block"
    ready = shell.run_variables_block()
    assert ready.returncode == 0, f"the variables block failed:\n{ready.stdout}\n{ready.stderr}"
    region, stack_name = shell.values("REGION", "STACK_NAME")
    cloudformation = boto3.client(
        "cloudformation",
        region_name=region,
        endpoint_url=emulator.endpoint,
        aws_access_key_id=DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    ran, skipped, states = [shell.first.line], [], []
    for block in blocks:
        if block.not_rehearsable or block.out_of_order:
            skipped.append(f"line {block.line}: {block.not_rehearsable or block.out_of_order}")
            continue
        if block == shell.first:
            continue
        result = shell.run(block)
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
        [str(cli_bin / "aws"), "s3api", "list-buckets", "--query", "Buckets[].Name", "--output", "json"],
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

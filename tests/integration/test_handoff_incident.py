"""The hand-off page's incident blocks, which the in-order rehearsal leaves out, run against the emulator as written.

A cancel or a continued rollback on a stable stack fails at once and never reaches its wait; going back to the
last good version redeploys what the save block kept before an update; the failed-create delete refuses a
healthy stack; a teardown of a stack that is already gone stops with a message and keeps the record it made.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from emulator.server import DUMMY_AWS_ENV, REGION, MotoServer
from tests.handoff_blocks import Block, shell_blocks, variables_block
from tests.handoff_shell import BIN, PAGE, ROOT, PageShell, environment

STACK = "tap-stack-dev"


def _one(blocks: list[Block], *markers: str, incident: bool = False) -> Block:
    (block,) = [
        b
        for b in blocks
        if all(m in b.body for m in markers) and bool(b.out_of_order) == incident and not b.not_rehearsable
    ]
    return block


def _parameter(cfn: object, key: str) -> str:
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]  # type: ignore[attr-defined]
    return next(p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"] == key)


@pytest.mark.slow
def test_the_incident_blocks_run_against_the_emulator(
    emulator: MotoServer,
    cli_bin: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert shutil.which("aws", path=str(BIN)) and shutil.which("jq")
    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    emulator.reset()
    shutil.copytree(ROOT / "output", tmp_path / "output")
    blocks = shell_blocks(PAGE.read_text(encoding="utf-8"))
    shell = PageShell(variables_block(blocks), tmp_path, environment(emulator.endpoint, cli_bin))
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=emulator.endpoint)
    transcript: list[str] = []

    def run(block: Block, expect_ok: bool = True) -> str:
        result = shell.run(block)
        out = (result.stdout + result.stderr).strip()
        transcript.append(f"--- line {block.line} (exit {result.returncode})\n{out[-600:]}")
        assert (result.returncode == 0) == expect_ok, f"{block.body}\n--- output\n{out[-3000:]}"
        return out

    # The quick path's create and update, with the save block before the update.
    run(_one(blocks, "--change-set-type CREATE"))
    run(_one(blocks, "wait stack-create-complete"))
    status = run(_one(blocks, "describe-stack-events", "--max-items 20", incident=True))
    assert "CREATE_COMPLETE" in status

    # A cancel on a stable stack is refused at once; the wait after it never runs.
    cancelled = run(_one(blocks, "cancel-update-stack", incident=True), expect_ok=False)
    assert "CancelUpdateStack cannot be called from current stack status" in cancelled
    assert "cancel accepted" not in cancelled
    continued = run(_one(blocks, "continue-update-rollback", incident=True), expect_ok=False)
    assert "ContinueUpdateRollback cannot be called from current stack status" in continued
    assert "rollback continues" not in continued
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"

    run(_one(blocks, "get-template", "--template-stage Original"))
    run(_one(blocks, "tonumber + 1"))
    run(_one(blocks, "--change-set-type UPDATE", "parameters.cli.json", "echo"))
    run(_one(blocks, "wait stack-update-complete"))
    assert _parameter(cfn, "CpuTargetUtilization") == "71"

    # Back to the last good version: the saved template and parameters through a change set, then executed.
    back = run(_one(blocks, "last-good/parameters.json", incident=True))
    assert "delete-change-set" in back
    run(_one(blocks, "wait stack-update-complete", incident=True))
    assert _parameter(cfn, "CpuTargetUtilization") == "70"

    # The failed-create delete checks the status first: a healthy stack stays.
    refused = run(_one(blocks, "ROLLBACK_COMPLETE", incident=True), expect_ok=False)
    assert "not deleting it" in refused
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"

    # Tear down, then again: the second run stops with a message and keeps the record of the first.
    teardown = _one(blocks, "list-stack-resources", "delete-stack")
    run(teardown)
    recorded = (tmp_path / "retained-resources.txt").read_text()
    assert "StaticContentBucket" in recorded
    again = run(teardown, expect_ok=False)
    assert "already deleted" in again
    assert (tmp_path / "retained-resources.txt").read_text() == recorded

    # The clean-up refuses without a record of what is retained.
    (tmp_path / "retained-resources.txt").unlink()
    missing = run(_one(blocks, "delete-bucket"), expect_ok=False)
    assert "retained-resources.txt is missing" in missing

    with capsys.disabled():
        print("\n" + "\n".join(transcript))

"""The AWS CLI commands of the hand-off page (output/tap-stack.md), run as written, in page order, against the
emulator: the page's fenced `sh` blocks in one shell with the venv's AWS CLI (v1) and the emulator's
environment lines (AWS_ENDPOINT_URL and dummy credentials; nothing else changed).

What the page asks its reader to fill in (a bucket of theirs, the id of their key, the key policy saved as
key-policy.json) is prepared in the emulated account the way a reader would, in PREPARED. A block that cannot
work here is in KNOWN_FAILURES with the reason; it must still fail, so a fix shows up as a failing test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.server import DUMMY_AWS_ENV, REGION, UNSET_AWS_ENV, MotoServer
from tests.integration.conftest import Account

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "output" / "tap-stack.md"
VENV_BIN = Path(sys.executable).parent
ACCOUNT_ID = "123456789012"  # moto's account
BUCKET_PLACEHOLDER = "replace-with-your-bucket-name"
KEY_PLACEHOLDER = "replace-with-your-key-id-or-arn"

# A line of the block -> why the block fails against the emulator with AWS CLI v1.
KNOWN_FAILURES: dict[str, str] = {
    "aws iam get-role --role-name AWSServiceRoleForAutoScaling": (
        "a check whose answer in a fresh account is NoSuchEntity (as in AWS): the next block creates the role"
    ),
    "aws cloudformation deploy --region": (
        "the page says it needs AWS CLI v2: v1's `deploy --parameter-overrides` does not read the "
        "template-configuration file"
    ),
}
# Before a block with this line, what the reader does by hand: the update changes MaxSize 3 to 4 in their file
# (with the same values, CloudFormation, like the emulator, answers with a FAILED "no changes" change set).
READER_EDITS: dict[str, str] = {
    "--change-set-type UPDATE": (
        'jq \'map(if .ParameterKey == "MaxSize" then .ParameterValue = "4" else . end)\' parameters.cli.json'
        " > edited.json && mv edited.json parameters.cli.json"
    ),
}
# Run last: the page explains deleting (with what stays behind) before it shows how to deploy.
RUN_LAST = "aws cloudformation delete-stack"


def _blocks(page: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block, in page order."""
    return [(m[1], m[2]) for m in re.finditer(r"^```(\w*)\n(.*?)^```$", page, re.S | re.M)]


def _shell_blocks(page: str) -> list[str]:
    blocks = [text for lang, text in _blocks(page) if lang == "sh"]
    return [b for b in blocks if RUN_LAST not in b] + [b for b in blocks if RUN_LAST in b]


def _known_reason(block: str) -> str | None:
    return next((why for line, why in KNOWN_FAILURES.items() if line in block), None)


def _environment(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in UNSET_AWS_ENV}
    env.update(DUMMY_AWS_ENV)
    env["AWS_ENDPOINT_URL"] = endpoint
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _prepare_account(account: Account, workdir: Path, page: str) -> str:
    """What the page asks the reader to have or to fill in; returns the id of "their" key."""
    account.client("s3").create_bucket(Bucket=BUCKET_PLACEHOLDER)
    key_id: str = account.client("kms").create_key()["KeyMetadata"]["KeyId"]
    policy = next(text for lang, text in _blocks(page) if lang == "json" and '"Statement"' in text)
    policy = policy.replace("<ACCOUNT_ID>", ACCOUNT_ID).replace("<REGION>", REGION)
    (workdir / "key-policy.json").write_text(policy, encoding="utf-8")
    (workdir / "output").symlink_to(ROOT / "output")
    return key_id


def test_the_page_has_the_commands_this_test_runs() -> None:
    blocks = _shell_blocks(PAGE.read_text(encoding="utf-8"))
    assert any("create-change-set" in b and "CREATE" in b for b in blocks)
    assert any("execute-change-set" in b for b in blocks)
    assert blocks[-1].count(RUN_LAST) == 1
    for line in KNOWN_FAILURES:
        assert any(line in b for b in blocks), f"KNOWN_FAILURES names {line!r}, which the page no longer has"


def test_every_cli_block_of_the_hand_off_page_runs_against_the_emulator(
    emulator: MotoServer, account: Account, tmp_path: Path
) -> None:
    page = PAGE.read_text(encoding="utf-8")
    key_id = _prepare_account(account, tmp_path, page)
    blocks = [b.replace(KEY_PLACEHOLDER, key_id) for b in _shell_blocks(page)]
    # One shell for the whole page, as the page asks ("set up once per shell"): variables carry over.
    script = ["set -o pipefail"]
    for i, block in enumerate(blocks):
        path = tmp_path / f"block-{i}.sh"
        path.write_text(block, encoding="utf-8")
        script += [edit for line, edit in READER_EDITS.items() if line in block]
        if _known_reason(block):
            script.append(f"if (set -e; . {path}) >/dev/null 2>&1; then echo 'BLOCK {i} UNEXPECTED-OK'; fi")
        else:
            script.append(f"echo 'BLOCK {i} START' >&2; set -e; . {path}; set +e; echo 'BLOCK {i} OK'")
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=_environment(emulator.endpoint),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    done = {int(n) for n in re.findall(r"^BLOCK (\d+) OK$", result.stdout, re.M)}
    for i, block in enumerate(blocks):
        if _known_reason(block):
            assert f"BLOCK {i} UNEXPECTED-OK" not in result.stdout, (
                f"a block listed in KNOWN_FAILURES now works: remove its row\n{block}"
            )
            continue
        if i not in done:
            stderr = result.stderr.split(f"BLOCK {i} START", 1)[-1].strip()
            pytest.fail(
                f"this block of {PAGE.name} fails against the emulator:\n{block}\n--- stderr ---\n{stderr}"
            )
    assert result.returncode == 0, result.stderr
    pages = account.client("cloudformation").get_paginator("list_stacks").paginate()
    statuses = [s["StackStatus"] for page in pages for s in page["StackSummaries"]]
    assert statuses == ["DELETE_COMPLETE"], "the page's commands did not create, update and delete one stack"

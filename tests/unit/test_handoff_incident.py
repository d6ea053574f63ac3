"""The hand-off page in an incident: its opening, blocks safe to paste, the variables block's refusals, a review
point before every execute, saved versions, and advice that agrees with the tools."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cfnspec.update_outcomes import Outcome, update_outcomes
from deployer.preflight import iam
from generator.docs import render_page
from generator.render import to_json
from generator.shell import NEEDS_VARIABLES
from tests.handoff_blocks import Block, shell_blocks, variables_block
from tests.template_helpers import stack_dict

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NAME = "tap-stack"


@pytest.fixture(scope="module")
def text() -> str:
    t = stack_dict(NAME)
    return render_page(NAME, t, len(to_json(t).encode()))


@pytest.fixture(scope="module")
def shells(text: str) -> list[Block]:
    return shell_blocks(text)


def _section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_page_opens_with_contents_then_the_incident_section(text: str) -> None:
    headings = [line[3:] for line in text.split("\n") if line.startswith("## ")]
    assert headings[:3] == ["Contents", "In an incident", "Before the first command"]
    contents = _section(text, "Contents")
    assert "- [In an incident](#in-an-incident)" in contents
    assert "- [Appendix D: Parameters](#appendix-d-parameters)" in contents
    incident = _section(text, "In an incident")
    for command in (
        "describe-stacks",
        "describe-stack-events",
        "cancel-update-stack",
        "continue-update-rollback",
        "last-good/parameters.json",
    ):
        assert command in incident, command
    assert "**TEAM TO FILL IN**" in incident


def test_every_block_that_uses_the_variables_refuses_to_start_without_them(shells: list[Block]) -> None:
    first = variables_block(shells)
    users = [b for b in shells if b is not first and "$REGION" in b.body]
    assert len(users) > 20
    for block in users:
        assert NEEDS_VARIABLES in block.body and block.body.startswith("(\n  set -e\n"), block.body
    # Run one: it stops at the check, before any AWS call, and leaves the caller's shell alone.
    done = subprocess.run(
        ["bash", "-c", users[0].body + "\necho shell still open"], capture_output=True, text=True, timeout=60
    )
    assert "run the variables block first" in done.stderr and "shell still open" in done.stdout


def test_no_block_creates_and_executes_a_change_set(shells: list[Block]) -> None:
    creating = [b for b in shells if "create-change-set" in b.body and not b.not_rehearsable]
    assert len(creating) >= 3
    for block in shells:
        if block.not_rehearsable and "--change-set-type IMPORT" in block.body:
            continue  # the re-create recipe, rehearsed by tests/integration/test_import_existing.py
        assert not ("create-change-set" in block.body and "execute-change-set" in block.body), block.body
    for block in creating:
        assert "describe-change-set" in block.body and "delete-change-set" in block.body, block.body


def test_a_wait_follows_a_cancel_or_continue_only_after_it_succeeded(shells: list[Block]) -> None:
    for call in ("cancel-update-stack", "continue-update-rollback"):
        found = [b for b in shells if call in b.body]
        assert found
        for block in found:
            body = block.body
            assert "  set -e\n" in body and body.index(call) < body.index("wait stack-rollback-complete")


def test_the_failed_create_delete_checks_the_status_and_is_out_of_the_path(shells: list[Block]) -> None:
    (block,) = [b for b in shells if "delete-stack" in b.body and "ROLLBACK_COMPLETE" in b.body]
    assert block.out_of_order
    assert block.body.index('[ "$STATUS" != ROLLBACK_COMPLETE ]') < block.body.index("delete-stack")


def test_every_block_the_emulator_cannot_rehearse_says_so_in_visible_text(text: str) -> None:
    lines = text.split("\n")
    marks = [i for i, line in enumerate(lines) if line.startswith("<!-- not-rehearsable: ")]
    assert marks
    for i in marks:
        reason = lines[i][len("<!-- not-rehearsable: ") : -len(" -->")]
        assert lines[i - 2] == f"*Not rehearsed against the emulator: {reason}.*", lines[i - 2]


def test_every_update_saves_the_deployed_version_first(text: str, shells: list[Block]) -> None:
    update = _section(text, "Updating an existing stack")
    save = update.index("get-template")
    assert save < update.index("--change-set-type UPDATE") < update.index("execute-change-set")
    (block,) = [b for b in shells if "get-template" in b.body]
    assert "describe-stacks" in block.body and "$(date -u +%Y%m%dT%H%M%SZ)" in block.body
    # Each upload is content-addressed, so a later upload never overwrites a saved version.
    uploads = [
        line for b in shells for line in b.body.split("\n") if "aws s3 cp " in line and "templates/" in line
    ]
    assert uploads and all("templates/tap-stack-$SHA.json" in line for line in uploads)


def test_the_template_bucket_is_the_accounts_own(shells: list[Block], text: str) -> None:
    assert 'BUCKET="cfn-templates-$ACCOUNT_ID-$REGION"' in variables_block(shells).body
    assert "replace-with-your-bucket" not in text


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "output", tmp_path / "output")
    return tmp_path


def _variables(shells: list[Block], cwd: Path, prefix: str = "") -> subprocess.CompletedProcess[str]:
    script = prefix + variables_block(shells).body + '\necho "REGION=${REGION:-unset}"'
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(cwd),
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_variables_block_refuses_a_parameter_file_with_a_placeholder(
    shells: list[Block], folder: Path
) -> None:
    prod = (folder / "output" / f"{NAME}.prod.parameters.json").read_text()
    (folder / f"{NAME}-dev.parameters.json").write_text(prod)
    done = _variables(shells, folder)
    assert "still holds a placeholder" in done.stderr and "REPLACE-WITH" in done.stderr
    assert done.stdout.strip().endswith("REGION=unset")


def test_the_variables_block_refuses_without_jq(shells: list[Block], folder: Path) -> None:
    done = _variables(shells, folder, prefix="jq() { return 127; }\n")
    assert "jq is missing" in done.stderr and done.stdout.strip().endswith("REGION=unset")


def test_the_variables_block_refuses_outside_the_folder_that_holds_output(
    shells: list[Block], tmp_path: Path
) -> None:
    done = _variables(shells, tmp_path)
    assert "cd to the folder that holds output/" in done.stderr
    assert done.stdout.strip().endswith("REGION=unset")


def test_the_service_linked_role_advice_is_preflights(text: str) -> None:
    # preflight: a missing role is INFO (Auto Scaling creates it on first use), its fix is the create command.
    assert iam.CREATE_COMMAND in text
    assert "nothing printed means set it true" not in text
    assert "Leave `CreateAutoScalingServiceLinkedRole` `false`" in text


def test_the_update_table_is_update_outcomes(text: str) -> None:
    outcomes = update_outcomes(stack_dict(NAME))
    new_stack = sorted(p for p, o in outcomes.items() if o.outcome is Outcome.NEW_STACK)
    assert new_stack == ["EnvironmentSuffix", "VpcCidr"]
    table = _section(text, "Updating an existing stack")
    for p, o in outcomes.items():
        assert re.search(rf"^\| `{p}` \| {re.escape(o.outcome.label)} \|", table, re.M), p


def test_quota_blocks_label_what_they_print(shells: list[Block]) -> None:
    quota = [
        b for b in shells if "service-quotas get-service-quota" in b.body or "length(Addresses)" in b.body
    ]
    assert len(quota) == 2
    for block in quota:
        lines = [line.strip() for line in block.body.split("\n")]
        for i, line in enumerate(lines):
            if line.startswith("aws "):
                assert lines[i - 1].startswith("printf '%s' '"), line

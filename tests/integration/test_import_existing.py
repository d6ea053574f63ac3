"""Re-creating the stack after a teardown with --import-existing-resources, against the emulator: the new stack
adopts the retained buckets, log groups and KMS key, and what they hold is still there."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from emulator.server import DUMMY_AWS_ENV, REGION, MotoServer
from tests.handoff_blocks import shell_blocks, variables_block
from tests.handoff_shell import PAGE, PageShell, environment
from tests.integration.conftest import ROOT, Account

STACK = "tap-it-again"
SUFFIX = "it-again"
PARAMETERS = (f"EnvironmentSuffix={SUFFIX}", "VpcCidr=10.40.0.0/16", "NatGatewayMode=single")
RETAINED = (
    "StaticContentBucket",
    "LogBucket",
    "FlowLogGroup",
    "ApplicationLogGroup",
    "AccessLogGroup",
    "KmsKey",
)


def _deploy(account: Account, *extra: str) -> int:
    return account.deploy_stack("deploy", STACK, PARAMETERS, *extra)


@pytest.fixture
def torn_down(account: Account) -> dict[str, str]:
    """The stack deployed, an object put in its static bucket, the stack deleted: what it retained, by logical id."""
    assert _deploy(account) == 0
    resources = account.resources(STACK)
    account.client("s3").put_object(Bucket=resources["StaticContentBucket"], Key="index.html", Body=b"kept")
    assert account.deploy("delete", "--stack-name", STACK, "--yes") == 0
    return {logical_id: resources[logical_id] for logical_id in RETAINED}


def test_re_create_adopts_the_retained_resources_and_keeps_their_contents(
    account: Account, torn_down: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _deploy(account, "--import-existing-resources") == 0
    out = capsys.readouterr().out
    assert "Creating IMPORT change set" in out
    assert account.stack(STACK)["StackStatus"] == "UPDATE_COMPLETE"
    described = account.client("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
    # moto also lists the resources whose Condition is false, without a logical id.
    owned = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in described if "LogicalResourceId" in r
    }
    assert {logical_id: owned.get(logical_id) for logical_id in RETAINED} == torn_down
    body = account.client("s3").get_object(Bucket=torn_down["StaticContentBucket"], Key="index.html")["Body"]
    assert body.read() == b"kept"
    # The rest of the stack was created by the update that followed the import.
    assert {"AutoScalingGroup", "LoadBalancer", "KmsKeyAlias"} <= set(owned)


def test_without_the_flag_preflight_names_it(
    account: Account, torn_down: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _deploy(account) == 13
    out = capsys.readouterr().out
    assert "re-create with --import-existing-resources" in out
    live = account.client("cloudformation").list_stacks(
        StackStatusFilter=["CREATE_COMPLETE", "REVIEW_IN_PROGRESS"]
    )
    assert [s["StackName"] for s in live["StackSummaries"]] == []


@pytest.mark.slow
def test_the_pages_recipe_re_creates_the_stack_with_the_retained_data(
    emulator: MotoServer, cli_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-off page's blocks, with the AWS CLI as in the page rehearsal: create the stack, put an object in the
    static bucket, record what is retained and delete the stack, then the re-create recipe (which the rehearsal
    skips: it removes the retained resources instead)."""
    emulator.reset()
    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    shutil.copytree(ROOT / "output", tmp_path / "output")
    blocks = shell_blocks(PAGE.read_text(encoding="utf-8"))
    shell = PageShell(variables_block(blocks), tmp_path, environment(emulator.endpoint, cli_bin))

    def run(marker: str, recipe: bool = False) -> None:
        # The recipe's blocks are marked not rehearsable (the in-order rehearsal removes the resources instead);
        # its update blocks repeat the update section's, so the recipe's own (the last) is taken.
        found = [
            b for b in blocks if marker in b.body and not b.out_of_order and bool(b.not_rehearsable) == recipe
        ]
        block = found[-1] if recipe else found[0]
        assert recipe or len(found) == 1, marker
        result = shell.run(block)
        assert result.returncode == 0, f"{block.body}\n--- stderr\n{result.stderr[-3000:]}"

    run("--change-set-type CREATE")
    run("wait stack-create-complete")
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=emulator.endpoint)
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=emulator.endpoint)
    summaries = cfn.list_stack_resources(StackName="tap-stack-dev")["StackResourceSummaries"]
    bucket = next(
        r["PhysicalResourceId"] for r in summaries if r["LogicalResourceId"] == "StaticContentBucket"
    )
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"kept")
    run("list-stack-resources")
    run("--change-set-type IMPORT", recipe=True)
    run("wait stack-import-complete", recipe=True)
    run("--change-set-type UPDATE", recipe=True)
    run("wait stack-update-complete", recipe=True)

    assert cfn.describe_stacks(StackName="tap-stack-dev")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    described = cfn.describe_stack_resources(StackName="tap-stack-dev")["StackResources"]
    owned = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in described if "LogicalResourceId" in r
    }
    assert owned["StaticContentBucket"] == bucket
    assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read() == b"kept"

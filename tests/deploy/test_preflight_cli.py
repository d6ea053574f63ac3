"""deploy.py preflight through the real CLI (exit 0 / 13, table and JSON), and the gate deploy and plan pass first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

import deploy
from deployer.errors import ExitCode
from emulator.server import REGION, MotoServer
from tests.deploy.conftest import Harness

FAST = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "30s", "--max-attempts", "1"]
TAKEN = "tap-preflight-taken"
WITH_BUCKET = {"Resources": {"Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": TAKEN}}}}


def write(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def run(moto: MotoServer, *args: str) -> int:
    return deploy.main([*args, "--endpoint-url", moto.endpoint, *FAST])


def client(moto: MotoServer, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=moto.endpoint)  # type: ignore[call-overload]


def stacks(moto: MotoServer) -> list[str]:
    pages = client(moto, "cloudformation").get_paginator("list_stacks").paginate()
    return [
        s["StackStatus"] for p in pages for s in p["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
    ]


def test_preflight_passes_and_leaves_no_change_set_or_stack_behind(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(moto, "preflight", "--stack-name", "pf", "--template-file", write(tmp_path, WITH_BUCKET))
    out = capsys.readouterr().out
    assert code == ExitCode.SUCCESS, out
    assert "PASS  bucket-names" in out and "online-validation" in out
    assert out.strip().splitlines()[-1].startswith("Preflight: ")
    assert stacks(moto) == []


def test_preflight_fails_with_exit_13_and_the_fix(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client(moto, "s3").create_bucket(Bucket=TAKEN)
    code = run(moto, "preflight", "--stack-name", "pf", "--template-file", write(tmp_path, WITH_BUCKET))
    captured = capsys.readouterr()
    assert code == ExitCode.PREFLIGHT_FAILED == 13
    # A bucket no stack holds (moto finds none): the fix adopts it, or removes it.
    assert "fix: keep it and its objects: re-create with --import-existing-resources" in captured.out
    assert f"or remove it, after keeping what you need: aws s3 rb s3://{TAKEN} --force" in captured.out
    assert captured.err.startswith("error: preflight: 1 check(s) failed, nothing was changed")
    assert stacks(moto) == []


def test_preflight_json_for_ci(moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client(moto, "s3").create_bucket(Bucket=TAKEN)
    code = run(
        moto,
        "preflight",
        "--stack-name",
        "pf",
        "--template-file",
        write(tmp_path, WITH_BUCKET),
        "--format",
        "json",
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 13 and doc["failed"] is True and doc["summary"]["FAIL"] == 1
    failed = [f for f in doc["findings"] if f["status"] == "FAIL"]
    assert [f["check"] for f in failed] == ["bucket-names"] and TAKEN in failed[0]["message"]
    assert doc["apiCalls"] > 0


def test_deploy_runs_preflight_first_and_stops_before_its_change_set(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client(moto, "s3").create_bucket(Bucket=TAKEN)
    code = run(moto, "deploy", "--yes", "--stack-name", "pf", "--template-file", write(tmp_path, WITH_BUCKET))
    captured = capsys.readouterr()
    assert code == 13
    assert "no change set was created" in captured.err and "Creating" not in captured.out
    assert stacks(moto) == []


FREE = "tap-preflight-free"
TWO_BUCKETS = {
    "Resources": {
        "Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": TAKEN}},
        "Logs": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": FREE}},
    }
}


def test_the_gate_prints_only_the_summary_and_the_lines_to_act_on_the_preflight_command_all(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client(moto, "s3").create_bucket(Bucket=TAKEN)
    template = write(tmp_path, TWO_BUCKETS)
    assert run(moto, "plan", "--stack-name", "pf", "--template-file", template) == 13
    gate = capsys.readouterr().out.splitlines()
    assert run(moto, "preflight", "--stack-name", "pf", "--template-file", template) == 13
    table = capsys.readouterr().out.splitlines()

    # One FAIL (the taken bucket) with its fix; the PASS (the free one) is counted in the summary, not printed.
    assert gate[-1] == "Preflight: 1 PASS, 0 INFO, 0 WARN, 1 FAIL; problems found: the deployment would fail"
    assert table[-1].startswith("Preflight: ")
    fail = next(i for i, line in enumerate(gate) if line.startswith("FAIL  bucket-names"))
    assert TAKEN in gate[fail] and gate[fail + 1].lstrip().startswith("fix: keep it and its objects")
    assert not [line for line in gate if line.startswith(("PASS", "INFO"))]
    assert [line for line in table if line.startswith("PASS  bucket-names")]
    assert stacks(moto) == []


def test_skip_preflight_goes_straight_to_the_change_set(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client(moto, "s3").create_bucket(Bucket=TAKEN)
    code = run(
        moto,
        "plan",
        "--skip-preflight",
        "--stack-name",
        "pf",
        "--template-file",
        write(tmp_path, WITH_BUCKET),
    )
    out = capsys.readouterr().out
    assert code == ExitCode.CHANGES_PRESENT
    assert "Preflight skipped (--skip-preflight)" in out and "bucket-names" not in out


def test_the_gate_prints_its_table_before_the_change_set_and_makes_no_call_a_template_does_not_need(
    harness: Harness,
) -> None:
    harness.expect_stack(None)
    harness.expect_create_change_set("CREATE", Parameters=[])
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[]])
    assert harness.run(*harness.deploy_args(command="plan")) == ExitCode.CHANGES_PRESENT
    out = harness.output
    assert out.index("Preflight: ") < out.index("Creating CREATE change set")
    assert "online-validation" not in out
    # SMALL_TEMPLATE has no bucket, key, group, zone or instance: no check has anything to report on.
    assert "Preflight: 0 PASS, 0 INFO, 0 WARN, 0 FAIL; no blocking problem" in out
    assert "INFO" not in out.replace("0 INFO", "") and "bucket-names" not in out
    assert harness.calls == ["DescribeStacks", "CreateChangeSet", "DescribeChangeSet", "DescribeChangeSet"]


class GateHarness(Harness):
    """The Stubber harness with the generic client preflight asks for (S3 here, stubbed like the rest)."""

    def client(self, service_name: str) -> Any:
        assert service_name == "s3", service_name
        return self.s3_client


def test_a_failed_preflight_stops_even_the_delete_that_replace_failed_stack_would_start(
    tmp_path: Path,
) -> None:
    h = GateHarness(tmp_path)
    h.expect_stack("ROLLBACK_COMPLETE")
    h.s3_stub.add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": TAKEN})
    code = h.run(
        "deploy", "--stack-name", "app", "--template-file", h.template(WITH_BUCKET), "--replace-failed-stack"
    )
    assert code == ExitCode.PREFLIGHT_FAILED
    assert h.mutating_calls == []
    assert "taken by another account" in h.output

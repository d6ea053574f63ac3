"""Manifests carry templates over the 51,200-byte inline limit: `s3_bucket` / `s3_prefix` in [defaults] or per
stack, refused before any AWS call when missing, and a plan of two stacks of output/tap-stack.json on moto."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

import deploy
from deployer.arguments import build_parser
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from deployer.fleet.command import run_manifest_command
from deployer.fleet.manifest import load_manifest
from deployer.fleet.runner import PrefixReporter
from deployer.upload import object_key
from emulator.gaps import endpoint_for_template_url
from emulator.server import MotoServer
from tests.deploy._manifest import stack_runner, write_manifest

ROOT = Path(__file__).resolve().parents[2]
TAP_STACK = ROOT / "output" / "tap-stack.json"
BUCKET = "tap-manifest-templates"
FAST = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "60s"]

TWO_TAP_STACKS = f"""
[defaults]
region = "us-east-1"
capabilities = ["CAPABILITY_IAM"]
s3_bucket = "{BUCKET}"
s3_prefix = "manifest"

[stacks.web-a]
stack_name = "tap-mf-a"
template = "{TAP_STACK}"
parameters = {{ EnvironmentSuffix = "mf-a" }}

[stacks.web-b]
stack_name = "tap-mf-b"
template = "{TAP_STACK}"
parameters = {{ EnvironmentSuffix = "mf-b" }}
"""


def _no_aws(settings: ClientSettings) -> Any:
    raise AssertionError(f"an AWS client was built ({settings}) although the manifest is invalid")


def _line_of(text: str, needle: str) -> int:
    lines = text.lstrip("\n").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def _validate(path: Path) -> tuple[int, str]:
    argv = ["manifest", "validate", str(path)]
    err = io.StringIO()
    code = run_manifest_command(
        build_parser().parse_args(argv), argv, io.StringIO(), err, make_factory=_no_aws
    )
    return code, err.getvalue()


def test_the_bucket_and_prefix_come_from_defaults_or_the_stack(tmp_path: Path) -> None:
    text = TWO_TAP_STACKS.replace(
        'parameters = { EnvironmentSuffix = "mf-b" }',
        'parameters = { EnvironmentSuffix = "mf-b" }\ns3_bucket = "other-bucket"',
    )
    manifest = load_manifest(write_manifest(tmp_path, text))
    a, b = manifest.stacks["web-a"], manifest.stacks["web-b"]
    assert (a.s3_bucket, a.s3_prefix) == (BUCKET, "manifest")
    assert (b.s3_bucket, b.s3_prefix) == ("other-bucket", "manifest")


def test_validate_refuses_a_template_over_the_inline_limit_without_a_bucket_naming_its_line(
    tmp_path: Path,
) -> None:
    text = TWO_TAP_STACKS.replace(f's3_bucket = "{BUCKET}"\ns3_prefix = "manifest"\n', "")
    path = write_manifest(tmp_path, text)
    code, err = _validate(path)
    assert code == ExitCode.BAD_INPUT
    assert err.count("\n") == 1, err
    line = _line_of(text, "template = ")
    assert f"{path}:{line}: stacks.web-a: template" in err
    assert (
        "over the 51,200-byte inline limit, and no s3_bucket is set" in err and 's3_bucket = "BUCKET"' in err
    )


def test_s3_prefix_without_a_bucket_is_refused(tmp_path: Path) -> None:
    text = TWO_TAP_STACKS.replace(f's3_bucket = "{BUCKET}"\n', "")
    path = write_manifest(tmp_path, text)
    code, err = _validate(path)
    assert code == ExitCode.BAD_INPUT
    assert f"{path}:{_line_of(text, 's3_prefix')}: " in err and "s3_prefix without s3_bucket" in err


def test_a_manifest_of_two_tap_stacks_plans_through_the_bucket(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto serves TemplateURL uploads only when the URL's host is "localhost" (emulator/gaps.py).
    endpoint = endpoint_for_template_url(moto.port)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    path = write_manifest(tmp_path, TWO_TAP_STACKS)
    code = deploy.main(["manifest", "plan", str(path), "--endpoint-url", endpoint, *FAST])
    out, err = capsys.readouterr()
    assert code == ExitCode.CHANGES_PRESENT, out + err
    rows = {line.split()[0]: line.split()[3:5] for line in out.splitlines() if line.startswith("web-")}
    assert rows["web-a"] == ["changes", "ready"] and rows["web-b"] == ["changes", "ready"], out
    body = TAP_STACK.read_text(encoding="utf-8")
    stored = s3.get_object(Bucket=BUCKET, Key=object_key(body, "manifest"))["Body"].read()
    assert stored == body.encode("utf-8")
    cfn = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=endpoint)
    reviewed = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert reviewed == {"tap-mf-a": "REVIEW_IN_PROGRESS", "tap-mf-b": "REVIEW_IN_PROGRESS"}


def test_the_command_printed_to_rerun_one_stack_keeps_its_bucket(tmp_path: Path) -> None:
    manifest = load_manifest(write_manifest(tmp_path, TWO_TAP_STACKS))
    runner = stack_runner(manifest, "plan")
    entry = manifest.stacks["web-a"]
    factory = ClientFactory(ClientSettings(region="us-east-1"))
    ctx = runner._context(entry, factory, None, PrefixReporter(io.StringIO(), threading.Lock(), "web-a"))
    assert f"--s3-bucket {BUCKET} --s3-prefix manifest" in ctx.rerun()

"""Manifest runs through the real CLI against moto's server on 127.0.0.1: several regions, outputs passed along,
a role assumed with an external id, review report, status, and the failure policy."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest

import deploy
from deployer.arguments import build_parser
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from deployer.fleet.clients import factory_for
from deployer.fleet.command import run_manifest_command
from deployer.fleet.manifest import load_manifest
from emulator.server import MotoServer
from tests.deploy._manifest import write_manifest

FAST = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "30s"]
TWO_REGIONS = """
[settings]
calls_per_second = 200
burst = 50

[defaults]
region = "us-east-1"
preflight = false

[stacks.network-us]
stack_name = "network"
template = "network.json"
parameters = { Env = "us" }

[stacks.network-eu]
stack_name = "network"
template = "network.json"
region = "eu-west-1"
parameters = { Env = "eu" }

[stacks.app]
template = "app.json"
region = "eu-west-1"
parameters = { Upstream = { from = "network-us", output = "TopicArn" }, Size = "big" }
"""


def cfn(moto: MotoServer, region: str) -> Any:
    return ClientFactory(ClientSettings(region=region, endpoint_url=moto.endpoint)).client("cloudformation")


def stacks_in(moto: MotoServer, region: str) -> dict[str, dict[str, Any]]:
    found = cfn(moto, region).describe_stacks()["Stacks"]
    return {s["StackName"]: s for s in found if s["StackStatus"] != "REVIEW_IN_PROGRESS"}


def run(moto: MotoServer, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = deploy.main(["manifest", *args, "--endpoint-url", moto.endpoint, *FAST])
    out, err = capsys.readouterr()
    return code, out, err


def test_deploy_across_regions_passes_outputs_to_dependants(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(tmp_path, TWO_REGIONS)
    code, out, err = run(moto, "deploy", str(path), capsys=capsys)
    assert code == ExitCode.SUCCESS, out + err
    us, eu = stacks_in(moto, "us-east-1"), stacks_in(moto, "eu-west-1")
    assert set(us) == {"network"} and set(eu) == {"network", "app"}
    topic_us = {o["OutputKey"]: o["OutputValue"] for o in us["network"]["Outputs"]}["TopicArn"]
    assert topic_us.startswith("arn:aws:sns:us-east-1:") and topic_us.endswith(":net-us")
    app_parameters = {p["ParameterKey"]: p["ParameterValue"] for p in eu["app"]["Parameters"]}
    assert app_parameters == {"Upstream": topic_us, "Size": "big"}
    # One summary row per stack, in the manifest's dependency order.
    rows = [
        line.split()
        for line in out.splitlines()
        if line.split()[:1] in (["network-us"], ["network-eu"], ["app"])
    ]
    assert [(r[0], r[1], r[2], r[3], r[-1]) for r in rows[-3:]] == [
        ("network-us", "us-east-1", "123456789012", "deployed", "1"),
        ("network-eu", "eu-west-1", "123456789012", "deployed", "1"),
        ("app", "eu-west-1", "123456789012", "deployed", "1"),
    ]
    # A second run changes nothing, and says so.
    code, out, _ = run(moto, "deploy", str(path), capsys=capsys)
    assert code == ExitCode.SUCCESS
    assert out.count("no changes") == 3


class CountingFactory(ClientFactory):
    """The product's factory, counting every HTTP request its CloudFormation clients send, per region."""

    counts: ClassVar[Counter[str]] = Counter()

    def cloudformation(self) -> Any:
        client = super().cloudformation()
        region = self.settings.region
        client.meta.events.register("before-send.cloudformation", lambda **_: self.counts.update([region]))
        return client


def test_every_cloudformation_request_goes_through_its_region_budget(
    moto: MotoServer, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path, TWO_REGIONS)
    argv = ["manifest", "deploy", str(path), "--endpoint-url", moto.endpoint, *FAST]
    out = io.StringIO()
    CountingFactory.counts = Counter()
    code = run_manifest_command(
        build_parser().parse_args(argv), argv, out, io.StringIO(), make_factory=CountingFactory
    )
    assert code == ExitCode.SUCCESS, out.getvalue()
    for region in ("us-east-1", "eu-west-1"):
        assert (
            f"CloudFormation calls in 123456789012/{region}: {CountingFactory.counts[region]} "
            in out.getvalue()
        )
    assert CountingFactory.counts["eu-west-1"] > CountingFactory.counts["us-east-1"] > 0


def test_plan_writes_one_review_report_with_a_section_per_stack(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(tmp_path, TWO_REGIONS)
    report = tmp_path / "review.md"
    code, out, err = run(moto, "plan", str(path), "--report-file", str(report), capsys=capsys)
    # Review mode: change sets ready, nothing executed; app waits for an output that does not exist yet.
    assert code == ExitCode.CHANGES_PRESENT, out + err
    assert stacks_in(moto, "us-east-1") == {} and stacks_in(moto, "eu-west-1") == {}
    text = report.read_text(encoding="utf-8")
    assert text.count("\n## ") == 3
    assert "## network-eu (eu-west-1, account 123456789012)" in text
    # Each planned stack's section is the change-set report of `plan --report-file`.
    assert text.count("### Change set `tap-deploy-create-") == 2
    assert "| Add | `Topic` | AWS::SNS::Topic | – | – | – |" in text
    assert "| app | eu-west-1 | 123456789012 | skipped | - |" in text
    assert (
        "stack network-us has no output TopicArn (needed for Upstream); hint: deploy network-us first" in text
    )


def test_plan_after_deploy_reads_the_producers_outputs(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(tmp_path, TWO_REGIONS)
    assert run(moto, "deploy", str(path), "--only", "network-us", capsys=capsys)[0] == ExitCode.SUCCESS
    report = tmp_path / "review.md"
    code, out, _ = run(moto, "plan", str(path), "--only", "app", "--report-file", str(report), capsys=capsys)
    assert code == ExitCode.CHANGES_PRESENT, out
    text = report.read_text(encoding="utf-8")
    assert "| app | eu-west-1 | 123456789012 | changes ready | 1 |" in text
    assert "| Add | `Queue` | AWS::SQS::Queue | – | – | – |" in text
    assert "**1 to add, 0 to modify, 0 to remove, 0 replaced, 0 dangerous**" in text
    assert "network-eu" not in text  # --only: the others are neither planned nor reported


def test_status_reads_every_stack(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(tmp_path, TWO_REGIONS)
    assert run(moto, "deploy", str(path), capsys=capsys)[0] == ExitCode.SUCCESS
    code, out, _ = run(moto, "status", str(path), capsys=capsys)
    assert code == ExitCode.SUCCESS
    assert "[network-eu] Status: CREATE_COMPLETE" in out
    assert "[app]   parameter Size = big" in out


def test_continue_deploys_the_independent_stacks_and_skips_the_dependants(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "broken" gives no value for app.json's required Upstream parameter: it fails at run time, changing nothing.
    text = (
        TWO_REGIONS
        + '\n[stacks.broken]\ntemplate = "app.json"\n\n[stacks.after]\ntemplate = "network.json"\n'
    )
    text += 'stack_name = "after"\ndepends_on = ["broken"]\n'
    path = write_manifest(tmp_path, text)
    code, out, err = run(
        moto, "deploy", str(path), "--on-failure", "continue", "--max-parallel", "1", capsys=capsys
    )
    assert code == ExitCode.BAD_INPUT, out + err
    assert set(stacks_in(moto, "eu-west-1")) == {"network", "app"}
    assert set(stacks_in(moto, "us-east-1")) == {"network"}
    summary = {line.split()[0]: line.split()[3] for line in out.splitlines()[-8:] if len(line.split()) >= 6}
    assert summary["broken"] == "failed" and summary["after"] == "skipped" and summary["app"] == "deployed"
    assert "--only broken after" in err  # how to retry what did not finish


def test_a_role_is_assumed_with_its_external_id(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """
[stacks.network]
template = "network.json"
region = "us-west-2"
preflight = false
role_arn = "arn:aws:iam::111122223333:role/deployer"
external_id = "tap-ext-1"
"""
    path = write_manifest(tmp_path, text)
    code, out, err = run(moto, "deploy", str(path), capsys=capsys)
    assert code == ExitCode.SUCCESS, out + err
    assert "111122223333/us-west-2" in out
    # moto keeps each account apart: the stack is in the role's account, not the caller's.
    assert stacks_in(moto, "us-west-2") == {}
    sts = ClientFactory(ClientSettings(region="us-west-2", endpoint_url=moto.endpoint)).client("sts")
    creds = sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/deployer", RoleSessionName="check")[
        "Credentials"
    ]
    other = boto3.client(
        "cloudformation",
        region_name="us-west-2",
        endpoint_url=moto.endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert [s["StackName"] for s in other.describe_stacks()["Stacks"]] == ["network"]


def test_assume_role_sends_the_external_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.stub import ANY, Stubber

    from tests.deploy.conftest import stubbed_client

    text = '[stacks.n]\ntemplate = "network.json"\nregion = "eu-west-1"\nprofile = "ops"\n'
    text += 'role_arn = "arn:aws:iam::111122223333:role/deployer"\nexternal_id = "tap-ext-1"\n'
    entry = load_manifest(write_manifest(tmp_path, text)).stacks["n"]
    sts = stubbed_client("sts")
    stub = Stubber(sts)
    expected = {
        "RoleArn": "arn:aws:iam::111122223333:role/deployer",
        "RoleSessionName": ANY,
        "ExternalId": "tap-ext-1",
    }
    creds = {
        "AccessKeyId": "AKIAEXAMPLE12345",
        "SecretAccessKey": "s",
        "SessionToken": "t",
        "Expiration": "2030-01-01",
    }
    stub.add_response("assume_role", {"Credentials": creds}, expected)
    seen: list[ClientSettings] = []

    class Base(ClientFactory):
        def __init__(self, settings: ClientSettings) -> None:
            seen.append(settings)
            self.settings = settings

        def client(self, service_name: str) -> Any:
            assert service_name == "sts"
            return sts

    with stub:
        factory = factory_for(entry, ClientSettings(endpoint_url="http://127.0.0.1:1"), Base)
        stub.assert_no_pending_responses()
    assert (seen[0].region, seen[0].profile) == ("eu-west-1", "ops")  # the profile is the source of the role
    assert factory._session.get_credentials().access_key == "AKIAEXAMPLE12345"


class SlowFactory(ClientFactory):
    """Every CloudFormation request takes 0.2 s, so a signal arrives while a stack is being deployed."""

    def cloudformation(self) -> Any:
        client = super().cloudformation()
        client.meta.events.register("before-send.cloudformation", lambda **_: time.sleep(0.2))
        return client


def test_sigterm_starts_nothing_new_and_prints_how_to_resume(moto: MotoServer, tmp_path: Path) -> None:
    path = write_manifest(tmp_path, TWO_REGIONS)
    argv = ["manifest", "deploy", str(path), "--max-parallel", "1", "--endpoint-url", moto.endpoint, *FAST]
    out, err = io.StringIO(), io.StringIO()
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    code = run_manifest_command(build_parser().parse_args(argv), argv, out, err, make_factory=SlowFactory)
    timer.join()
    assert code == ExitCode.TERMINATED, out.getvalue() + err.getvalue()  # 143, as every other command
    assert "terminated (SIGTERM): no new stack was started" in err.getvalue()
    resume = next(line for line in err.getvalue().splitlines() if "to resume, run:" in line)
    assert resume.endswith("--only network-us network-eu app") or resume.endswith("--only network-eu app")
    assert "network-eu  eu-west-1  ?             not started" in out.getvalue()
    assert "network" not in stacks_in(moto, "eu-west-1")

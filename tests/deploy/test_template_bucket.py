"""The template bucket is checked (HeadBucket) before anything is uploaded or changed; the TemplateURL is S3's
standard form, which AWS and the emulator both read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import BadInput, ExitCode
from deployer.upload import template_url, upload_template
from emulator.server import MotoServer
from tests.deploy.conftest import SMALL_TEMPLATE, STACK, Harness, stubbed_client
from tests.deploy.test_bad_inputs import assert_rejected

pytestmark = pytest.mark.deploy


def big_template(h: Harness) -> str:
    doc: dict[str, Any] = json.loads(json.dumps(SMALL_TEMPLATE))
    doc["Metadata"] = {"Padding": "x" * 60_000}
    return h.template(doc, "big.json")


@pytest.mark.parametrize("command", ["deploy", "plan", "preflight"])
def test_a_missing_template_bucket_is_exit_2_with_the_command_that_creates_it(
    harness: Harness, command: str
) -> None:
    harness.s3_stub.add_client_error(
        "head_bucket", "404", "Not Found", 404, expected_params={"Bucket": "tmpl"}
    )
    code = harness.run(
        command, "--stack-name", STACK, "--template-file", big_template(harness), "--s3-bucket", "tmpl"
    )
    assert_rejected(
        harness, code, "template bucket tmpl does not exist", "aws s3 mb s3://tmpl --region us-east-1"
    )
    assert harness.calls == ["HeadBucket"]  # no stack read, no change set listed or deleted, nothing uploaded


@pytest.mark.parametrize(
    ("bucket", "region", "url"),
    [
        ("tmpl", "us-east-1", "https://tmpl.s3.us-east-1.amazonaws.com/cfn/k.json"),
        ("tmpl", "eu-west-1", "https://tmpl.s3.eu-west-1.amazonaws.com/cfn/k.json"),
        ("tmpl", "cn-north-1", "https://tmpl.s3.cn-north-1.amazonaws.com.cn/cfn/k.json"),
        ("my.tmpl", "eu-west-1", "https://s3.eu-west-1.amazonaws.com/my.tmpl/cfn/k.json"),
    ],
)
def test_the_template_url_is_s3s_standard_form(bucket: str, region: str, url: str) -> None:
    assert template_url(bucket, "cfn/k.json", region) == url


def test_deploy_through_a_missing_bucket_changes_nothing_in_the_emulator(
    moto: MotoServer, tmp_path: Path
) -> None:
    import deploy

    doc: dict[str, Any] = json.loads(json.dumps(SMALL_TEMPLATE))
    doc["Metadata"] = {"Padding": "x" * 60_000}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    argv = ["deploy", "--stack-name", "rt", "--template-file", str(path), "--s3-bucket", "nobucket"]
    assert deploy.main([*argv, "--endpoint-url", moto.endpoint, "--yes"]) == ExitCode.BAD_INPUT
    cfn = ClientFactory(ClientSettings(endpoint_url=moto.endpoint)).cloudformation()
    assert cfn.list_stacks()["StackSummaries"] == []


def test_a_missing_bucket_hidden_by_a_403_is_still_exit_2_at_the_upload() -> None:
    # Without s3:ListBucket, S3 answers HeadBucket 403 whether or not the bucket exists.
    s3 = stubbed_client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": "tmpl"})
        stub.add_client_error("put_object", "NoSuchBucket", "The specified bucket does not exist", 404)
        with pytest.raises(BadInput, match=r"aws s3 mb s3://tmpl --region us-east-1"):
            upload_template(s3, "{}", "tmpl", None)

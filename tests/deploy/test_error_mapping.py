"""One mapping from botocore errors to what the tool says: access denied, credentials, and a test's own mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, StubAssertionError, UnStubbedResponseError

from deployer import cli, validation
from deployer.clients import ACCESS_DENIED_CODES, api_error, is_access_denied
from deployer.errors import ExitCode
from deployer.fleet.manifest import load_manifest
from deployer.preflight.context import could_not_check
from deployer.preflight.iam import check_service_linked_role
from deployer.preflight.kms import check_kms
from deployer.preflight.leftovers import check_leftovers
from deployer.preflight.model import Status
from deployer.preflight.s3 import check_bucket_names
from tests.deploy._manifest import stack_runner, write_manifest
from tests.deploy._preflight import ACCOUNT, REGION, stubbed_context

pytestmark = pytest.mark.deploy


def client_error(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "SomeOperation")


@pytest.mark.parametrize("code", sorted(ACCESS_DENIED_CODES))
def test_every_denied_wording_is_denied_for_the_cli_preflight_and_describe_events(code: str) -> None:
    err = client_error(code)
    assert is_access_denied(err)
    assert "lack this permission" in str(api_error(err, "reading"))
    assert "access denied (ec2:X)" in could_not_check("c", "x", err, "ec2:X").message
    assert validation._why_unavailable(err).startswith(f"denied ({code})")


def test_unknown_credentials_are_a_credentials_problem_not_a_missing_permission() -> None:
    err = client_error("UnrecognizedClientException", "The security token included in the request is invalid")
    assert not is_access_denied(err)
    assert "access denied" not in could_not_check("c", "x", err, "ec2:X").message
    assert "refresh the credentials" in str(api_error(err, "reading"))


@pytest.mark.parametrize(
    "harness_error",
    [
        UnStubbedResponseError(operation_name="ListRoles", reason="no response queued"),
        StubAssertionError(operation_name="ListRoles", reason="other parameters"),
    ],
)
def test_a_stubber_error_is_raised_not_turned_into_a_warning(harness_error: Exception) -> None:
    with pytest.raises(type(harness_error)):
        could_not_check("c", "x", harness_error, "iam:ListRoles")


def test_a_call_the_test_did_not_stub_fails_the_check_instead_of_warning() -> None:
    with stubbed_context() as (ctx, clients):
        clients.stub("iam")  # nothing queued: the check's ListRoles is a call the test did not expect
        with pytest.raises(UnStubbedResponseError):
            check_service_linked_role(ctx)


# Where a check decides who holds an existing name (tags first, then CloudFormation), an unexpected call must fail
# the test too, not become the "owner cannot be read" FAIL or a fallback from unreadable tags.
FLOW = "/tap/pf-harness/vpc-flow-logs"  # first named log group for EnvironmentSuffix=pf-harness


def test_an_unstubbed_tag_read_fails_the_test_instead_of_falling_back_to_cloudformation() -> None:
    with stubbed_context(EnvironmentSuffix="pf-harness") as (ctx, clients):
        clients.stub("logs").add_response(
            "describe_log_groups", {"logGroups": [{"logGroupName": FLOW}]}, {"logGroupNamePrefix": FLOW}
        )
        clients.stub("kms").add_response("list_aliases", {"Aliases": []}, {})
        clients.stub("cloudformation")  # reached only if the tag read's error were swallowed
        with pytest.raises(UnStubbedResponseError, match="ListTagsForResource"):
            check_leftovers(ctx)


def test_an_unstubbed_owner_lookup_of_an_alias_fails_the_test_instead_of_a_finding() -> None:
    with stubbed_context(EnvironmentSuffix="pf-harness") as (ctx, clients):
        # The alias is the template's first fixed name: its owner is looked up before any log group.
        clients.stub("kms").add_response(
            "list_aliases", {"Aliases": [{"AliasName": "alias/tap-pf-harness"}]}, {}
        )
        clients.stub(
            "cloudformation"
        )  # nothing queued: DescribeStackResources is a call the test did not expect
        with pytest.raises(UnStubbedResponseError, match="DescribeStackResources"):
            check_leftovers(ctx)


def test_an_unstubbed_owner_lookup_of_a_bucket_fails_the_test_instead_of_a_finding() -> None:
    logs, static = (f"tap-{kind}-pf-harness-{ACCOUNT}-{REGION}" for kind in ("logs", "static"))
    with stubbed_context(EnvironmentSuffix="pf-harness") as (ctx, clients):
        s3 = clients.stub("s3")
        s3.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": logs})
        s3.add_response("head_bucket", {}, {"Bucket": static})
        s3.add_response("list_buckets", {"Buckets": [{"Name": static}]}, {})
        s3.add_client_error(
            "get_bucket_tagging", "NoSuchTagSet", "no tags", 404, expected_params={"Bucket": static}
        )
        clients.stub("cloudformation")
        with pytest.raises(UnStubbedResponseError, match="DescribeStackResources"):
            check_bucket_names(ctx)


def test_an_unstubbed_key_lookup_fails_the_test_instead_of_a_finding() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with stubbed_context(KmsKeyArn=key) as (ctx, clients):
        clients.stub("kms")
        with pytest.raises(UnStubbedResponseError, match="DescribeKey"):
            check_kms(ctx)


def test_a_real_aws_refusal_is_still_a_warning() -> None:
    with stubbed_context() as (ctx, clients):
        clients.stub("iam").add_client_error("list_roles", "AccessDenied", "not authorized", 403)
        findings = check_service_linked_role(ctx)
    assert [f.status for f in findings] == [Status.WARN]


@pytest.mark.parametrize("command", ["manifest", "stackset"])
def test_manifest_and_stackset_end_in_the_cli_handlers(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*_: Any, **__: Any) -> int:
        raise client_error("UnauthorizedOperation", "You are not authorized\nto perform this operation")

    monkeypatch.setattr(cli, f"run_{command}_command", refuse)
    argv = {
        "manifest": ["manifest", "status", "m.toml"],
        "stackset": ["stackset", "status", "--stack-set-name", "alerts"],
    }[command]
    assert cli.main(argv) == ExitCode.AWS_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: AWS error while running {command} status")
    assert "lack this permission" in err


@pytest.fixture
def no_profiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_a_missing_profile_is_bad_input_for_stacksets_as_for_deploy(
    no_profiles: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["stackset", "status", "--stack-set-name", "alerts", "--profile", "no-such-profile"]
    assert cli.main(argv) == ExitCode.BAD_INPUT
    assert "aws configure list-profiles" in capsys.readouterr().err


def test_a_missing_profile_in_a_manifest_is_that_stacks_bad_input_with_the_same_hint(
    no_profiles: None, tmp_path: Path
) -> None:
    path = write_manifest(
        tmp_path,
        """
[stacks.net]
region = "us-east-1"
account = "123456789012"
profile = "no-such-profile"
template = "network.json"
""",
    )
    runner = stack_runner(load_manifest(path), "status")
    result = runner("net")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "no-such-profile" in result.detail and "aws configure list-profiles" in result.detail

"""Checks 4 and 5: account Block Public Access and the bucket names, against moto's S3 and Stubber."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from deployer.preflight.model import Status
from deployer.preflight.s3 import check_bucket_names, check_public_access_block, name_problems
from emulator.server import MotoServer
from tests.deploy._preflight import ACCOUNT, REGION, moto_context, one, only, stubbed_context, tap_stack
from tests.deploy.conftest import T0

# Not the default "dev": moto's state is shared by every server in the process, and the demo deploys "dev".
SUFFIX = "pf-s3"
LOGS = f"tap-logs-{SUFFIX}-{ACCOUNT}-{REGION}"
STATIC = f"tap-static-{SUFFIX}-{ACCOUNT}-{REGION}"


def s3(moto: MotoServer) -> Any:
    return boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint)


def test_free_valid_bucket_names_pass(moto: MotoServer) -> None:
    findings = check_bucket_names(moto_context(moto, EnvironmentSuffix=SUFFIX))
    assert [f.status for f in findings] == [Status.PASS, Status.PASS]
    assert LOGS in findings[0].message and STATIC in findings[1].message


def test_a_bucket_retained_from_a_deleted_stack_of_the_same_environment_fails_with_the_command(
    moto: MotoServer,
) -> None:
    s3(moto).create_bucket(Bucket=STATIC)
    failure = one(check_bucket_names(moto_context(moto, EnvironmentSuffix=SUFFIX)), Status.FAIL)
    assert STATIC in failure.message and "already exists in this account" in failure.message
    assert f"aws s3 rb s3://{STATIC} --force" in (failure.fix or "")


def test_a_bucket_of_this_stack_on_update_passes_without_a_lookup(moto: MotoServer) -> None:
    s3(moto).create_bucket(Bucket=STATIC)
    stack = {
        "StackName": "tap",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/tap/1",
        "StackStatus": "UPDATE_COMPLETE",
    }
    ctx = moto_context(moto, stack=stack, EnvironmentSuffix=SUFFIX)
    ctx.facts.stack_resources = lambda: {"StaticContentBucket": STATIC}
    findings = check_bucket_names(ctx)
    assert not only(findings, Status.FAIL)
    assert any("belongs to this stack" in f.message for f in findings)


def test_a_bucket_name_taken_by_another_account_fails() -> None:
    with stubbed_context(EnvironmentSuffix=SUFFIX) as (ctx, clients):
        stub = clients.stub("s3")
        stub.add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": LOGS})
        stub.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": STATIC})
        findings = check_bucket_names(ctx)
    failure = one(findings, Status.FAIL)
    assert LOGS in failure.message and "taken by another account" in failure.message
    assert "EnvironmentSuffix" in (failure.fix or "")


def test_a_denied_bucket_lookup_is_a_warning() -> None:
    with stubbed_context(EnvironmentSuffix=SUFFIX) as (ctx, clients):
        stub = clients.stub("s3")
        stub.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": LOGS})
        stub.add_response("head_bucket", {}, {"Bucket": STATIC})
        stub.add_client_error("list_buckets", "AccessDenied", "denied", 403, expected_params={})
        findings = check_bucket_names(ctx)
    assert "s3:ListAllMyBuckets" in one(findings, Status.WARN).message


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("ab", "3 to 63"),
        ("Tap-Logs", "lower-case"),
        ("tap..logs", "adjacent dots"),
        ("192.168.1.1", "IP address"),
        ("xn--tap", "reserved prefix"),
        ("tap-s3alias", "reserved suffix"),
        ("a" * 64, "3 to 63"),
    ],
)
def test_every_s3_naming_rule_is_checked(name: str, problem: str) -> None:
    assert any(problem in p for p in name_problems(name)), name_problems(name)


def test_an_invalid_name_from_the_parameters_fails_before_any_lookup() -> None:
    template = copy.deepcopy(tap_stack())
    template["Resources"]["LogBucket"]["Properties"]["BucketName"] = {"Fn::Sub": "Tap_${EnvironmentSuffix}"}
    template["Resources"]["StaticContentBucket"]["Properties"].pop("BucketName")
    with stubbed_context(template) as (ctx, _):
        failure = one(check_bucket_names(ctx), Status.FAIL)
    assert (
        "Tap_dev" in failure.message
    )  # resolved with the default suffix and "lower-case" in failure.message


def _public_template() -> dict[str, Any]:
    template = copy.deepcopy(tap_stack())
    block = template["Resources"]["StaticContentBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    block["BlockPublicPolicy"] = False
    return template


def test_block_public_access_gets_no_line_when_the_template_asks_for_no_public_access() -> None:
    with stubbed_context() as (ctx, clients):
        assert check_public_access_block(ctx) == []
    assert not clients.clients


def test_account_block_public_access_fails_a_template_that_asks_for_public_access() -> None:
    on = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    with stubbed_context(_public_template()) as (ctx, clients):
        clients.stub("s3control").add_response(
            "get_public_access_block", {"PublicAccessBlockConfiguration": on}, {"AccountId": ACCOUNT}
        )
        failure = one(check_public_access_block(ctx), Status.FAIL)
    assert "StaticContentBucket turns part of Block Public Access off" in failure.message
    assert f"aws s3control delete-public-access-block --account-id {ACCOUNT}" in (failure.fix or "")


def test_no_account_block_public_access_passes_a_public_template() -> None:
    with stubbed_context(_public_template()) as (ctx, clients):
        clients.stub("s3control").add_client_error(
            "get_public_access_block",
            "NoSuchPublicAccessBlockConfiguration",
            "none",
            404,
            expected_params={"AccountId": ACCOUNT},
        )
        assert "no account-wide" in one(check_public_access_block(ctx), Status.PASS).message


OTHER = "tap-pf-other"
OTHER_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{OTHER}/0000"


def _static_exists_here(clients: Any) -> Any:
    stub = clients.stub("s3")
    stub.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": LOGS})
    stub.add_response("head_bucket", {}, {"Bucket": STATIC})
    stub.add_response("list_buckets", {"Buckets": [{"Name": STATIC}]}, {})
    return stub


def test_a_bucket_of_a_live_stack_is_reported_as_that_stacks_never_with_rb() -> None:
    stack = {"StackName": OTHER, "StackId": OTHER_ID, "StackStatus": "CREATE_COMPLETE", "CreationTime": T0}
    tags = [
        {"Key": "aws:cloudformation:stack-name", "Value": OTHER},
        {"Key": "aws:cloudformation:stack-id", "Value": OTHER_ID},
        {"Key": "aws:cloudformation:logical-id", "Value": "StaticContentBucket"},
    ]
    with stubbed_context(EnvironmentSuffix=SUFFIX) as (ctx, clients):
        _static_exists_here(clients).add_response("get_bucket_tagging", {"TagSet": tags}, {"Bucket": STATIC})
        clients.stub("cloudformation").add_response(
            "describe_stacks", {"Stacks": [stack]}, {"StackName": OTHER_ID}
        )
        failure = one(check_bucket_names(ctx), Status.FAIL)
    assert f"belongs to the live stack {OTHER} as StaticContentBucket" in failure.message
    assert (failure.fix or "").startswith("choose another EnvironmentSuffix")
    assert "rb" not in (failure.fix or "").split() and "--force" not in (failure.fix or "")


def test_an_untagged_bucket_found_in_a_stack_through_describe_stack_resources_is_that_stacks() -> None:
    stack = {"StackName": OTHER, "StackId": OTHER_ID, "StackStatus": "UPDATE_COMPLETE", "CreationTime": T0}
    resource = {
        "StackName": OTHER,
        "StackId": OTHER_ID,
        "LogicalResourceId": "StaticContentBucket",
        "PhysicalResourceId": STATIC,
        "ResourceType": "AWS::S3::Bucket",
        "Timestamp": T0,
        "ResourceStatus": "UPDATE_COMPLETE",
    }
    with stubbed_context(EnvironmentSuffix=SUFFIX) as (ctx, clients):
        _static_exists_here(clients).add_client_error(
            "get_bucket_tagging",
            "NoSuchTagSet",
            "The TagSet does not exist",
            404,
            expected_params={"Bucket": STATIC},
        )
        cfn = clients.stub("cloudformation")
        cfn.add_response(
            "describe_stack_resources", {"StackResources": [resource]}, {"PhysicalResourceId": STATIC}
        )
        cfn.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": OTHER_ID})
        failure = one(check_bucket_names(ctx), Status.FAIL)
    assert f"live stack {OTHER}" in failure.message and "--force" not in (failure.fix or "")


def test_a_bucket_retained_by_a_deleted_stack_can_be_adopted_or_removed() -> None:
    resource = {
        "StackName": OTHER,
        "StackId": OTHER_ID,
        "LogicalResourceId": "StaticContentBucket",
        "PhysicalResourceId": STATIC,
        "ResourceType": "AWS::S3::Bucket",
        "Timestamp": T0,
        "ResourceStatus": "DELETE_SKIPPED",
    }
    with stubbed_context(EnvironmentSuffix=SUFFIX) as (ctx, clients):
        _static_exists_here(clients).add_client_error(
            "get_bucket_tagging",
            "NoSuchTagSet",
            "The TagSet does not exist",
            404,
            expected_params={"Bucket": STATIC},
        )
        clients.stub("cloudformation").add_response(
            "describe_stack_resources", {"StackResources": [resource]}, {"PhysicalResourceId": STATIC}
        )
        failure = one(check_bucket_names(ctx), Status.FAIL)
    adopt, remove = (failure.fix or "").splitlines()
    assert "belongs to no stack" in failure.message
    assert adopt.startswith("keep it and its objects: re-create with --import-existing-resources")
    assert remove.endswith(f"aws s3 rb s3://{STATIC} --force")

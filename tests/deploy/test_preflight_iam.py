"""Check 2: the Auto Scaling service-linked role, against moto's IAM (more than one page of roles) and Stubber."""

from __future__ import annotations

from typing import Any

import boto3

from deployer.preflight.iam import CREATE_COMMAND, check_service_linked_role
from deployer.preflight.model import Status
from emulator.server import MotoServer
from tests.deploy._preflight import REGION, moto_context, one, stubbed_context

TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"autoscaling.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
PATH = "/aws-service-role/autoscaling.amazonaws.com/"


def iam(moto: MotoServer) -> Any:
    return boto3.client("iam", region_name=REGION, endpoint_url=moto.endpoint)


def test_the_role_behind_more_than_a_page_of_roles_is_found(moto: MotoServer) -> None:
    client = iam(moto)
    for i in range(120):  # custom-suffix roles share the path; ListRoles answers at most 100 per page
        client.create_role(
            RoleName=f"AWSServiceRoleForAutoScaling_{i:03}", Path=PATH, AssumeRolePolicyDocument=TRUST
        )
    client.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    # moto orders roles by their random ids, so the role lands on either page: it is found on both.
    finding = one(check_service_linked_role(moto_context(moto)), Status.PASS)
    assert "AWSServiceRoleForAutoScaling exists" in finding.message


def _role(name: str) -> dict[str, Any]:
    return {
        "Path": PATH,
        "RoleName": name,
        "RoleId": "AROA" + name[-12:].upper().rjust(16, "X"),
        "Arn": f"arn:aws:iam::123456789012:role{PATH}{name}",
        "CreateDate": "2024-01-01T00:00:00Z",
    }


def test_the_role_on_the_second_page_is_found_and_every_page_is_read_until_then() -> None:
    first = [_role(f"AWSServiceRoleForAutoScaling_{i:03}") for i in range(100)]
    with stubbed_context() as (ctx, clients):
        stub = clients.stub("iam")
        stub.add_response(
            "list_roles", {"Roles": first, "IsTruncated": True, "Marker": "p2"}, {"PathPrefix": PATH}
        )
        stub.add_response(
            "list_roles",
            {"Roles": [_role("AWSServiceRoleForAutoScaling")], "IsTruncated": False},
            {"PathPrefix": PATH, "Marker": "p2"},
        )
        finding = one(check_service_linked_role(ctx), Status.PASS)
    assert "exists" in finding.message
    assert ctx.calls == ["iam:ListRoles", "iam:ListRoles"]


def test_a_missing_role_is_information_that_auto_scaling_creates_it_with_the_command(
    moto: MotoServer,
) -> None:
    finding = one(check_service_linked_role(moto_context(moto)), Status.INFO)
    assert "creates it" in finding.message and "iam:CreateServiceLinkedRole" in finding.message
    assert finding.fix == f"or create it now: {CREATE_COMMAND}"


def test_creating_a_role_that_exists_fails_and_names_the_parameter(moto: MotoServer) -> None:
    iam(moto).create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    ctx = moto_context(moto, CreateAutoScalingServiceLinkedRole="true")
    failure = one(check_service_linked_role(ctx), Status.FAIL)
    assert "already exists" in failure.message and "AutoScalingServiceLinkedRole" in failure.message
    assert "--parameter-overrides CreateAutoScalingServiceLinkedRole=false" in (failure.fix or "")


def test_creating_a_role_that_does_not_exist_passes(moto: MotoServer) -> None:
    ctx = moto_context(moto, CreateAutoScalingServiceLinkedRole="true")
    assert "the stack creates it" in one(check_service_linked_role(ctx), Status.PASS).message


def test_denied_list_roles_is_a_warning_naming_the_permission() -> None:
    with stubbed_context() as (ctx, clients):
        clients.stub("iam").add_client_error(
            "list_roles", "AccessDenied", "not authorized", 403, expected_params={"PathPrefix": PATH}
        )
        warning = one(check_service_linked_role(ctx), Status.WARN)
    assert "iam:ListRoles" in warning.message


def test_a_template_without_an_auto_scaling_group_gets_no_line_and_no_call() -> None:
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    with stubbed_context(template) as (ctx, _):
        assert check_service_linked_role(ctx) == []
    assert ctx.calls == []

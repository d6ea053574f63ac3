"""Check 1: the KMS key given by parameter, against moto's KMS (states, policies, grants) and Stubber (denied
calls, ListGrants pages). What the key must allow is read from output/tap-stack.json's own key policy."""

from __future__ import annotations

import json
from typing import Any

import boto3

from deployer.preflight.kms import check_kms, requirements
from deployer.preflight.model import Status
from emulator.server import MotoServer
from tests.deploy._preflight import (
    ACCOUNT,
    AUTO_SCALING_GRANT_OPERATIONS,
    REGION,
    SLR_ARN,
    moto_context,
    one,
    only,
    stubbed_context,
)

ROOT_STATEMENT = {
    "Sid": "EnableIamPolicies",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def kms(moto: MotoServer) -> Any:
    return boto3.client("kms", region_name=REGION, endpoint_url=moto.endpoint)


def template_statements(moto: MotoServer, *, without: str = "") -> list[dict[str, Any]]:
    """The statements output/tap-stack.json gives its own key, resolved for this account and environment."""
    facts = moto_context(moto).facts
    return [dict(n.statement) for n in requirements(facts) if n.sid != without]


def make_key(moto: MotoServer, statements: list[dict[str, Any]]) -> str:
    policy = {"Version": "2012-10-17", "Statement": [ROOT_STATEMENT, *statements]}
    return str(kms(moto).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"])


def test_the_requirements_are_the_template_key_policy_statements_except_the_root_one(
    moto: MotoServer,
) -> None:
    sids = [n.sid for n in requirements(moto_context(moto).facts)]
    assert sids == [
        "AllowAutoScalingServiceLinkedRoleUse",
        "AllowAutoScalingServiceLinkedRoleGrants",
        "AllowCloudWatchLogsForStackLogGroups",
        "AllowCloudWatchAlarmsToPublishToAlarmTopic",
        "AllowCloudFrontOriginAccessControlRead",
    ]


def test_a_key_whose_policy_allows_every_use_the_template_needs_passes(moto: MotoServer) -> None:
    key = make_key(moto, template_statements(moto))
    findings = check_kms(moto_context(moto, KmsKeyArn=key))
    assert not only(findings, Status.FAIL) and not only(findings, Status.WARN), findings
    assert "Enabled" in findings[0].message and "LaunchTemplate" in findings[0].message
    assert "allow all 5 uses" in findings[-1].message


def test_a_key_whose_policy_lacks_the_auto_scaling_statement_fails_with_the_statement_to_add(
    moto: MotoServer,
) -> None:
    key = make_key(moto, template_statements(moto, without="AllowAutoScalingServiceLinkedRoleUse"))
    failure = one(check_kms(moto_context(moto, KmsKeyArn=key)), Status.FAIL)
    assert SLR_ARN in failure.message
    assert "kms:ReEncryptFrom" in failure.message and "kms:GenerateDataKey" in failure.message
    assert failure.fix is not None
    added = json.loads(failure.fix.splitlines()[1])
    assert added["Sid"] == "AllowAutoScalingServiceLinkedRoleUse"
    assert added["Condition"]["StringEquals"]["aws:PrincipalArn"] == SLR_ARN


def test_the_default_key_policy_of_the_account_root_alone_fails_every_service(moto: MotoServer) -> None:
    key = str(kms(moto).create_key()["KeyMetadata"]["Arn"])
    failures = only(check_kms(moto_context(moto, KmsKeyArn=key)), Status.FAIL)
    assert len(failures) == 5
    assert any("logs.us-east-1.amazonaws.com" in f.message for f in failures)
    assert any("cloudfront.amazonaws.com" in f.message for f in failures)


def test_a_grant_to_the_auto_scaling_role_stands_in_for_the_policy_statements(moto: MotoServer) -> None:
    statements = template_statements(moto)
    key = make_key(moto, [s for s in statements if "AutoScaling" not in s["Sid"]])
    operations = AUTO_SCALING_GRANT_OPERATIONS
    kms(moto).create_grant(KeyId=key, GranteePrincipal=SLR_ARN, Operations=operations)
    findings = check_kms(moto_context(moto, KmsKeyArn=key))
    assert not only(findings, Status.FAIL), findings


def test_a_key_pending_deletion_fails_with_the_commands_that_restore_it(moto: MotoServer) -> None:
    key = make_key(moto, template_statements(moto))
    kms(moto).schedule_key_deletion(KeyId=key.rsplit("/", 1)[1], PendingWindowInDays=7)
    failure = one(check_kms(moto_context(moto, KmsKeyArn=key)), Status.FAIL)
    assert "PendingDeletion" in failure.message and "InvalidKMSKey.InvalidState" in failure.message
    assert failure.fix == f"aws kms cancel-key-deletion --key-id {key} && aws kms enable-key --key-id {key}"


def test_a_disabled_key_fails_with_enable_key(moto: MotoServer) -> None:
    key = make_key(moto, template_statements(moto))
    kms(moto).disable_key(KeyId=key.rsplit("/", 1)[1])
    failure = one(check_kms(moto_context(moto, KmsKeyArn=key)), Status.FAIL)
    assert "Disabled" in failure.message
    assert failure.fix == f"aws kms enable-key --key-id {key}"


def test_a_key_that_does_not_exist_fails(moto: MotoServer) -> None:
    failure = one(check_kms(moto_context(moto, KmsKeyArn=KEY_ARN)), Status.FAIL)
    assert "does not exist" in failure.message and failure.fix


def test_a_key_in_another_region_fails_without_a_call(moto: MotoServer) -> None:
    other = KEY_ARN.replace(REGION, "eu-west-1")
    ctx = moto_context(moto, KmsKeyArn=other)
    failure = one(check_kms(ctx), Status.FAIL)
    assert "eu-west-1" in failure.message and "us-east-1" in (failure.fix or "")
    assert not [c for c in ctx.calls if c.startswith("kms:")]


def test_no_key_given_gets_no_line_and_no_call(moto: MotoServer) -> None:
    ctx = moto_context(moto)
    assert check_kms(ctx) == []
    assert ctx.calls == []


def _describe(clients: Any) -> None:
    meta = {
        "KeyId": KEY_ARN.rsplit("/", 1)[1],
        "Arn": KEY_ARN,
        "KeyState": "Enabled",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyUsage": "ENCRYPT_DECRYPT",
    }
    clients.stub("kms").add_response("describe_key", {"KeyMetadata": meta}, {"KeyId": KEY_ARN})


def test_a_denied_key_policy_read_is_a_warning_naming_the_permission_never_a_pass() -> None:
    with stubbed_context(KmsKeyArn=KEY_ARN) as (ctx, clients):
        _describe(clients)
        clients.stub("kms").add_client_error(
            "get_key_policy",
            "AccessDeniedException",
            "not authorized",
            400,
            expected_params={"KeyId": KEY_ARN, "PolicyName": "default"},
        )
        findings = check_kms(ctx)
    warning = one(findings, Status.WARN)
    assert "kms:GetKeyPolicy" in warning.message and "access denied" in warning.message
    assert not [f for f in findings if f.check == "kms-policy" and f.status is Status.PASS]


def test_a_grant_on_the_second_page_of_list_grants_is_found() -> None:
    policy = {"Statement": [ROOT_STATEMENT]}
    with stubbed_context(KmsKeyArn=KEY_ARN) as (ctx, clients):
        needs = [n for n in requirements(ctx.facts)]
        services = [dict(n.statement) for n in needs if "AutoScaling" not in n.sid]
        policy["Statement"] = [ROOT_STATEMENT, *services]
        _describe(clients)
        stub = clients.stub("kms")
        stub.add_response(
            "get_key_policy", {"Policy": json.dumps(policy)}, {"KeyId": KEY_ARN, "PolicyName": "default"}
        )
        other = {
            "KeyId": KEY_ARN,
            "GranteePrincipal": "arn:aws:iam::123456789012:role/other",
            "Operations": ["Decrypt"],
        }
        stub.add_response(
            "list_grants", {"Grants": [other], "Truncated": True, "NextMarker": "m2"}, {"KeyId": KEY_ARN}
        )
        grant = {
            "KeyId": KEY_ARN,
            "GranteePrincipal": SLR_ARN,
            "Operations": AUTO_SCALING_GRANT_OPERATIONS,
        }
        stub.add_response(
            "list_grants", {"Grants": [grant], "Truncated": False}, {"KeyId": KEY_ARN, "Marker": "m2"}
        )
        findings = check_kms(ctx)
    assert not only(findings, Status.FAIL), findings
    assert only(findings, Status.PASS)[-1].check == "kms-policy"


def test_denied_list_grants_turns_what_the_policy_lacks_into_warnings_never_failures() -> None:
    with stubbed_context(KmsKeyArn=KEY_ARN) as (ctx, clients):
        _describe(clients)
        stub = clients.stub("kms")
        policy = {"Statement": [ROOT_STATEMENT]}
        stub.add_response(
            "get_key_policy", {"Policy": json.dumps(policy)}, {"KeyId": KEY_ARN, "PolicyName": "default"}
        )
        stub.add_client_error(
            "list_grants", "AccessDeniedException", "not authorized", 400, expected_params={"KeyId": KEY_ARN}
        )
        findings = check_kms(ctx)
    assert not only(findings, Status.FAIL), findings
    assert any("kms:ListGrants" in f.message for f in only(findings, Status.WARN))

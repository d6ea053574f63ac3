"""Check 3: EBS encryption by default and the default key, against moto's EC2 and Stubber (moto has no
GetEbsDefaultKmsKeyId)."""

from __future__ import annotations

import copy
import json
from typing import Any

from deployer.preflight.ebs import check_ebs_defaults
from deployer.preflight.kms import requirements
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
    tap_stack,
)

DEFAULT_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000aaaa-0000-0000-0000-000000000000"


def test_volumes_with_their_own_key_make_the_default_irrelevant(moto: MotoServer) -> None:
    finding = one(check_ebs_defaults(moto_context(moto)), Status.INFO)
    assert "encryption by default is off" in finding.message and "names its own key" in finding.message


def _keyless() -> dict[str, Any]:
    template = copy.deepcopy(tap_stack())
    data = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    data["BlockDeviceMappings"][0]["Ebs"].pop("KmsKeyId")
    return template


def _default_key(clients: Any, policy: dict[str, Any]) -> None:
    ec2 = clients.stub("ec2")
    ec2.add_response("get_ebs_encryption_by_default", {"EbsEncryptionByDefault": True}, {})
    ec2.add_response("get_ebs_default_kms_key_id", {"KmsKeyId": DEFAULT_KEY}, {})
    kms = clients.stub("kms")
    kms.add_response(
        "describe_key",
        {"KeyMetadata": {"KeyId": "k", "Arn": DEFAULT_KEY, "KeyState": "Enabled"}},
        {"KeyId": DEFAULT_KEY},
    )
    kms.add_response(
        "get_key_policy", {"Policy": json.dumps(policy)}, {"KeyId": DEFAULT_KEY, "PolicyName": "default"}
    )


def test_a_default_customer_key_the_auto_scaling_role_may_not_use_fails_keyless_volumes() -> None:
    root_only = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    with stubbed_context(_keyless()) as (ctx, clients):
        _default_key(clients, root_only)
        clients.stub("kms").add_response("list_grants", {"Grants": []}, {"KeyId": DEFAULT_KEY})
        failure = one(check_ebs_defaults(ctx), Status.FAIL)
    assert DEFAULT_KEY in failure.message and "LaunchTemplate" in failure.message
    assert "aws ec2 modify-ebs-default-kms-key-id --kms-key-id alias/aws/ebs" in (failure.fix or "")


ROOT_ONLY = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
}


def test_unreadable_grants_of_the_default_key_are_a_warning_not_a_failure() -> None:
    with stubbed_context(_keyless()) as (ctx, clients):
        _default_key(clients, ROOT_ONLY)
        clients.stub("kms").add_client_error(
            "list_grants",
            "AccessDeniedException",
            "User: x is not authorized to perform: kms:ListGrants",
            400,
            expected_params={"KeyId": DEFAULT_KEY},
        )
        findings = check_ebs_defaults(ctx)
    assert not only(findings, Status.FAIL), findings
    warnings = only(findings, Status.WARN)
    assert len(warnings) == 2 and "grants could not be read" in warnings[0].message
    assert "kms:ListGrants" in warnings[1].message and "access denied" in warnings[1].message


def test_a_grant_to_the_auto_scaling_role_on_the_default_key_passes() -> None:
    grant = {
        "KeyId": DEFAULT_KEY,
        "GranteePrincipal": SLR_ARN,
        "Operations": AUTO_SCALING_GRANT_OPERATIONS,
    }
    with stubbed_context(_keyless()) as (ctx, clients):
        _default_key(clients, ROOT_ONLY)
        clients.stub("kms").add_response("list_grants", {"Grants": [grant]}, {"KeyId": DEFAULT_KEY})
        assert DEFAULT_KEY in one(check_ebs_defaults(ctx), Status.PASS).message


def test_a_default_customer_key_that_allows_the_role_passes() -> None:
    with stubbed_context(_keyless()) as (ctx, clients):
        statements = [dict(n.statement) for n in requirements(ctx.facts)]
        _default_key(clients, {"Statement": statements})
        assert DEFAULT_KEY in one(check_ebs_defaults(ctx), Status.PASS).message


def test_denied_encryption_default_is_a_warning() -> None:
    with stubbed_context(_keyless()) as (ctx, clients):
        clients.stub("ec2").add_client_error(
            "get_ebs_encryption_by_default", "UnauthorizedOperation", "no", 403
        )
        assert "ec2:GetEbsEncryptionByDefault" in one(check_ebs_defaults(ctx), Status.WARN).message

"""cfnspec.policy: a KMS key policy and grants decided for one request, as IAM does."""

from __future__ import annotations

import pytest

from cfnspec.policy import (
    Decision,
    Principal,
    Request,
    UnsupportedOperator,
    allows,
    decide,
    grant_allows,
)

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
SLR = Principal(
    "AWS",
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
)
LOGS = Principal("Service", "logs.us-east-1.amazonaws.com")
# The statements AWS documents for a customer key used by EC2 Auto Scaling (principal named directly).
DOCUMENTED = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": SLR.value},
            "Resource": "*",
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": SLR.value},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
        },
    ]
}


def request(principal: Principal, action: str, **context: str) -> Request:
    return Request(principal, action, {k.lower(): v for k, v in context.items()})


@pytest.mark.parametrize("action", ["kms:ReEncryptFrom", "kms:GenerateDataKey", "kms:DescribeKey"])
def test_action_wildcards_match_as_iam_does(action: str) -> None:
    assert allows(DOCUMENTED, request(SLR, action), KEY)


def test_create_grant_needs_grant_is_for_aws_resource() -> None:
    assert allows(DOCUMENTED, request(SLR, "kms:CreateGrant", **{"kms:GrantIsForAWSResource": "true"}), KEY)
    assert not allows(DOCUMENTED, request(SLR, "kms:CreateGrant"), KEY)


def test_the_account_root_alone_does_not_let_a_service_linked_role_use_the_key() -> None:
    root = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    assert not allows(root, request(SLR, "kms:Decrypt"), KEY)


def test_principal_arn_and_via_service_conditions_are_evaluated() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/aws-service-role/*"},
                    "StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"},
                },
            }
        ]
    }
    via_ec2 = {"aws:PrincipalArn": SLR.value, "kms:ViaService": "ec2.us-east-1.amazonaws.com"}
    assert allows(policy, request(SLR, "kms:Decrypt", **via_ec2), KEY)
    assert not allows(
        policy,
        request(SLR, "kms:Decrypt", **{**via_ec2, "kms:ViaService": "rds.us-east-1.amazonaws.com"}),
        KEY,
    )
    assert not allows(policy, request(SLR, "kms:Decrypt", **{"aws:PrincipalArn": SLR.value}), KEY)


def test_an_explicit_deny_wins_and_principal_is_aws_service_is_read() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": LOGS.value}, "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}},
            },
        ]
    }
    assert allows(policy, request(LOGS, "kms:Encrypt", **{"aws:PrincipalIsAWSService": "true"}), KEY)
    assert not allows(policy, request(LOGS, "kms:Decrypt", **{"aws:PrincipalIsAWSService": "true"}), KEY)


def test_a_grant_covers_only_its_grantee_and_operations() -> None:
    grants = [{"GranteePrincipal": SLR.value, "Operations": ["Decrypt", "GenerateDataKey"]}]
    assert grant_allows(grants, request(SLR, "kms:Decrypt"))
    assert not grant_allows(grants, request(SLR, "kms:CreateGrant"))
    assert not grant_allows(grants, request(LOGS, "kms:Decrypt"))


def test_a_deny_of_grants_not_for_aws_resources_still_lets_auto_scaling_grant_for_ebs() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["kms:CreateGrant"],
        "Resource": ["*"],
        "Condition": {
            "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
        },
    }
    allow_all = {"Effect": "Allow", "Principal": {"AWS": SLR.value}, "Action": "kms:*", "Resource": "*"}
    policy = {"Statement": [allow_all, deny]}
    for_ebs = {"kms:GrantIsForAWSResource": "true", "aws:PrincipalIsAWSService": "false"}
    assert allows(policy, request(SLR, "kms:CreateGrant", **for_ebs), KEY)
    not_for_aws = {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
    assert not allows(policy, request(SLR, "kms:CreateGrant", **not_for_aws), KEY)


def test_the_account_root_lets_in_a_principal_of_that_account_only_when_its_iam_policies_allow() -> None:
    root = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:Decrypt", "Resource": "*"},
        ]
    }
    admin = Principal("AWS", f"arn:aws:iam::{ACCOUNT}:role/Admin")
    stranger = Principal("AWS", "arn:aws:iam::444455556666:role/Admin")
    assert decide(root, Request(admin, "kms:Decrypt", iam_allows=True), KEY) is Decision.ALLOW
    assert decide(root, Request(admin, "kms:Decrypt"), KEY) is Decision.IMPLICIT_DENY
    assert decide(root, Request(stranger, "kms:Decrypt", iam_allows=True), KEY) is Decision.IMPLICIT_DENY


def test_negated_operators_hold_for_a_missing_key_and_null_checks_presence() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": KEY,
                "Condition": {
                    "StringNotEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"},
                    "Null": {"aws:PrincipalArn": "false"},
                },
            }
        ]
    }
    assert allows(policy, request(SLR, "kms:Decrypt", **{"aws:PrincipalArn": SLR.value}), KEY)
    assert not allows(policy, request(SLR, "kms:Decrypt"), KEY)
    assert not allows(policy, request(SLR, "kms:Decrypt", **{"aws:PrincipalArn": SLR.value}), KEY + "-other")


def test_an_unknown_operator_is_refused_by_decide_and_never_taken_to_allow() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"kms:RecipientAttestation:ImageSha384": "1"}},
            },
        ]
    }
    with pytest.raises(UnsupportedOperator, match="NumericLessThan"):
        decide(policy, request(SLR, "kms:Decrypt"), KEY)
    assert not allows(policy, request(SLR, "kms:Decrypt"), KEY)

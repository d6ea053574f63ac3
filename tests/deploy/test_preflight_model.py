"""The parts of preflight that need no AWS: key-policy evaluation, the template resolver, the printed report."""

from __future__ import annotations

import json

import pytest

from deployer.preflight.facts import UNRESOLVED, StackFacts
from deployer.preflight.model import Finding, Report, Status
from deployer.preflight.policy import Principal, Request, allows, grant_allows
from deployer.preflight.runner import effective_parameters

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


def facts(template: dict, **parameters: str) -> StackFacts:
    return StackFacts(
        template=template,
        parameters=parameters,
        region="eu-west-1",
        partition="aws",
        account_id=lambda: ACCOUNT,
        availability_zones=lambda: ["eu-west-1a", "eu-west-1b"],
    )


def test_the_resolver_evaluates_sub_if_select_and_getazs_and_leaves_attributes_unresolved() -> None:
    template = {
        "Conditions": {"Prod": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "B": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": {"Fn::Sub": "logs-${Env}-${AWS::AccountId}-${AWS::Region}"},
                    "Zone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
                    "Key": {"Fn::If": ["Prod", {"Fn::GetAtt": ["K", "Arn"]}, {"Ref": "KeyArn"}]},
                },
            },
            "P": {"Type": "AWS::S3::Bucket", "Condition": "Prod"},
        },
    }
    f = facts(template, Env="dev", KeyArn="arn:k")
    props = f.properties(f.resources["B"])
    assert f.resolve(props["BucketName"]) == f"logs-dev-{ACCOUNT}-eu-west-1"
    assert f.resolve(props["Zone"]) == "eu-west-1b"
    assert f.resolve(props["Key"]) == "arn:k"
    assert [lid for lid, _ in f.active()] == ["B"]
    prod = facts(template, Env="prod", KeyArn="")
    assert prod.resolve(props["Key"]) is UNRESOLVED
    assert [lid for lid, _ in prod.active()] == ["B", "P"]


def test_effective_parameters_are_given_then_deployed_then_default() -> None:
    template = {"Parameters": {"A": {"Default": "a"}, "B": {"Default": "b"}, "C": {"Default": 3}}}
    stack = {"Parameters": [{"ParameterKey": "B", "ParameterValue": "deployed"}]}
    assert effective_parameters(template, {"A": "given", "B": None}, stack) == {
        "A": "given",
        "B": "deployed",
        "C": "3",
    }


def test_the_report_prints_one_line_per_finding_with_its_fix_and_a_summary() -> None:
    report = Report(
        (
            Finding("kms-key", Status.PASS, "fine", fix="never shown"),
            Finding("bucket-names", Status.FAIL, "taken", fix="first\nsecond"),
        )
    )
    assert report.lines() == [
        "PASS  kms-key       fine",
        "FAIL  bucket-names  taken",
        "                    fix: first",
        "                         second",
        "Preflight: 1 PASS, 0 INFO, 0 WARN, 1 FAIL; problems found: the deployment would fail",
    ]
    assert json.loads(report.to_json())["failed"] is True
    assert not Report((Finding("x", Status.WARN, "w"),)).failed


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

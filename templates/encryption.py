"""The KMS key every component encrypts with: created in the stack unless the KmsKeyArn parameter names one."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import kms
from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    BoolIfExists,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import AWSHelperFn, GetAtt, If, Ref, Sub, Template
from troposphere import kms as kms_resources

from templates import naming
from templates.lifecycle import retained_unless_its_create_fails
from templates.parameters import CREATE_KMS_KEY, StackParameters
from templates.tags import tags

KEY_ID = "KmsKey"
ACCOUNT_ROOT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
AUTOSCALING_SERVICE_LINKED_ROLE = (
    "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/autoscaling.amazonaws.com/"
    "AWSServiceRoleForAutoScaling"
)
# Every log group of the stack lives under this prefix (templates/naming.py), so CloudWatch Logs may use the
# key for them and for nothing else in the account.
STACK_LOG_GROUPS = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/" + naming.PREFIX
STACK_LOG_GROUPS += "/${EnvironmentSuffix}/*"
ALARM_TOPIC_ARN = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:" + naming.ALARM_TOPIC
# Any distribution of this account: naming the stack's own distribution would make the key depend on it,
# while the distribution already depends on the bucket and the bucket on the key (a circular dependency).
ACCOUNT_DISTRIBUTIONS = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"


@dataclass(frozen=True)
class Encryption:
    key_arn: AWSHelperFn  # If(CreateKmsKey, the stack's key ARN, the KmsKeyArn parameter)


def _autoscaling_role_statements() -> list[Statement]:
    # A key policy that names a principal ARN which does not exist is rejected
    # (MalformedPolicyDocumentException), and AWSServiceRoleForAutoScaling only exists once the account has
    # used Auto Scaling (or this stack creates it, after the key). So the principal is "*" narrowed by
    # aws:PrincipalArn and aws:PrincipalAccount: conditions are evaluated per request, never validated when
    # the key is created, and match only that role of this account.
    only_the_role = StringEquals(
        {
            "aws:PrincipalArn": Sub(AUTOSCALING_SERVICE_LINKED_ROLE),
            "aws:PrincipalAccount": Ref("AWS::AccountId"),
        }
    )
    anyone = Principal("AWS", "*")
    return [
        Statement(
            Sid="AllowAutoScalingServiceLinkedRoleUse",
            Effect=Allow,
            Principal=anyone,
            Action=[
                kms.Encrypt,
                kms.Decrypt,
                kms.Action("ReEncrypt*"),
                kms.Action("GenerateDataKey*"),
                kms.DescribeKey,
            ],
            Resource=["*"],
            Condition=Condition(only_the_role),
        ),
        Statement(
            # EC2 attaches the encrypted volumes through grants; only grants for AWS resources are allowed.
            Sid="AllowAutoScalingServiceLinkedRoleGrants",
            Effect=Allow,
            Principal=anyone,
            Action=[kms.CreateGrant],
            Resource=["*"],
            Condition=Condition([only_the_role, Bool("kms:GrantIsForAWSResource", "true")]),
        ),
    ]


def _deny_grants_for_anything_but_aws_services() -> Statement:
    # AWS Control Tower control CT.KMS.PR.3: a grant outlives the policy that allowed it, so nobody may create
    # one except for an AWS resource (EBS volumes of the Auto Scaling group) or as an AWS service.
    return Statement(
        Sid="DenyGrantsExceptForAwsResourcesAndServices",
        Effect=Deny,
        Principal=Principal("AWS", "*"),
        Action=[kms.CreateGrant],
        Resource=["*"],
        Condition=Condition(
            BoolIfExists({"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"})
        ),
    )


def _service_statements() -> list[Statement]:
    return [
        Statement(
            Sid="AllowCloudWatchLogsForStackLogGroups",
            Effect=Allow,
            Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
            Action=[
                kms.Action("Encrypt*"),
                kms.Action("Decrypt*"),
                kms.Action("ReEncrypt*"),
                kms.Action("GenerateDataKey*"),
                kms.Action("Describe*"),
            ],
            Resource=["*"],
            Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn", Sub(STACK_LOG_GROUPS))),
        ),
        Statement(
            # Alarms publish to the encrypted alarm topic. SNS puts the topic ARN in the encryption context of
            # every call, so the condition holds for exactly that topic (named in templates/naming.py).
            Sid="AllowCloudWatchAlarmsToPublishToAlarmTopic",
            Effect=Allow,
            Principal=Principal("Service", "cloudwatch.amazonaws.com"),
            Action=[kms.Decrypt, kms.Action("GenerateDataKey*")],
            Resource=["*"],
            Condition=Condition(ArnLike("kms:EncryptionContext:aws:sns:topicArn", Sub(ALARM_TOPIC_ARN))),
        ),
        Statement(
            # Origin Access Control reads SSE-KMS objects; reading needs only Decrypt.
            Sid="AllowCloudFrontOriginAccessControlRead",
            Effect=Allow,
            Principal=Principal("Service", "cloudfront.amazonaws.com"),
            Action=[kms.Decrypt],
            Resource=["*"],
            Condition=Condition(StringLike("aws:SourceArn", Sub(ACCOUNT_DISTRIBUTIONS))),
        ),
    ]


def key_policy() -> PolicyDocument:
    """The policy of the stack's key: IAM policies of the account, Auto Scaling for EBS, the services that
    encrypt the stack's logs, alarm notifications and static content, and no grants but for AWS resources.

    It references no resource of the stack, so nothing the key encrypts can end up in a dependency cycle.
    """
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="EnableIamPolicies",
                Effect=Allow,
                Principal=Principal("AWS", Sub(ACCOUNT_ROOT)),
                Action=[kms.Action("*")],
                Resource=["*"],
            ),
            *_autoscaling_role_statements(),
            _deny_grants_for_anything_but_aws_services(),
            *_service_statements(),
        ],
    )


def add_encryption(t: Template, p: StackParameters) -> Encryption:
    """The key everything is encrypted with: created here unless the KmsKeyArn parameter names one."""
    key = t.add_resource(
        kms_resources.Key(
            KEY_ID,
            Condition=CREATE_KMS_KEY,
            Description=Sub(
                "EBS volumes, logs, alarm notifications and static content of tap ${EnvironmentSuffix}"
            ),
            EnableKeyRotation=True,
            KeyPolicy=key_policy(),
            Tags=tags(p, "security"),
            Metadata={
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_33",
                            "comment": "The '*' principals are narrowed by aws:PrincipalArn and "
                            "aws:PrincipalAccount to the Auto Scaling service-linked role of this account (or "
                            "only deny); naming the role as principal would fail key creation in accounts "
                            "where it does not exist yet.",
                        }
                    ]
                }
            },
            **retained_unless_its_create_fails(),
        )
    )
    t.add_resource(
        kms_resources.Alias(
            "KmsKeyAlias",
            Condition=CREATE_KMS_KEY,
            AliasName=naming.name(naming.KMS_ALIAS),
            TargetKeyId=Ref(key),
        )
    )
    return Encryption(key_arn=If(CREATE_KMS_KEY, GetAtt(key, "Arn"), p.kms_key_arn))

"""KMS key (or the one the caller brings), security groups, and the web servers' IAM role and profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from awacs import kms, s3, sts
from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import AWSHelperFn, GetAtt, If, Ref, Sub, Template, ec2, iam
from troposphere import kms as kms_resources

from templates import naming
from templates.parameters import CREATE_KMS_KEY, StackParameters, add_parameters
from templates.tags import tags

if TYPE_CHECKING:
    from templates.network import Network

KEY_ID = "KmsKey"
ANYWHERE = "0.0.0.0/0"

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
STATIC_BUCKET_ARN = "arn:${AWS::Partition}:s3:::" + naming.STATIC_BUCKET
MANAGED_POLICIES = (
    "arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy",
    "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
)

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


@dataclass(frozen=True)
class Encryption:
    key_arn: AWSHelperFn  # If(CreateKmsKey, the stack's key ARN, the KmsKeyArn parameter)


@dataclass(frozen=True)
class Security:
    alb_security_group: Ref
    instance_security_group: Ref
    instance_role: Ref
    instance_profile: Ref


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
    """The policy of the stack's key: IAM policies of the account, Auto Scaling for EBS, and the services that
    encrypt the stack's logs, alarm notifications and static content.

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
            *_service_statements(),
        ],
    )


def _checkov_skip(check_id: str, reason: str) -> dict[str, object]:
    return {"checkov": {"skip": [{"id": check_id, "comment": reason}]}}


def _key_arn(p: StackParameters) -> If:
    return If(CREATE_KMS_KEY, GetAtt(KEY_ID, "Arn"), p.kms_key_arn)


def add_encryption(t: Template, p: StackParameters | None = None) -> Encryption:
    """The key everything is encrypted with: created here unless the KmsKeyArn parameter names one.

    Calling it again on the same template returns the same key.
    """
    p = p or add_parameters(t)
    if KEY_ID in t.resources:
        return Encryption(key_arn=_key_arn(p))
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
            Metadata=_checkov_skip(
                "CKV_AWS_33",
                "The '*' principals are narrowed by aws:PrincipalArn and aws:PrincipalAccount to the Auto "
                "Scaling service-linked role of this account; naming the role as principal would fail key "
                "creation in accounts where it does not exist yet.",
            ),
            **RETAIN,
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
    return Encryption(key_arn=_key_arn(p))


def _rule(protocol: str, port: int, description: str, **target: object) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(
        IpProtocol=protocol, FromPort=port, ToPort=port, Description=description, **target
    )


def _security_groups(
    t: Template, p: StackParameters, net: Network
) -> tuple[ec2.SecurityGroup, ec2.SecurityGroup]:
    alb = t.add_resource(
        ec2.SecurityGroup(
            "AlbSecurityGroup",
            GroupDescription="Internet-facing load balancer: HTTP and HTTPS from anywhere",
            VpcId=net.vpc,
            SecurityGroupIngress=[
                _rule(
                    "tcp",
                    80,
                    "HTTP from the internet (redirected to HTTPS when a certificate is set)",
                    CidrIp=ANYWHERE,
                ),
                _rule("tcp", 443, "HTTPS from the internet", CidrIp=ANYWHERE),
            ],
            # To the VPC block rather than to the instance group: referencing it here while it references this
            # group would make the two groups depend on each other.
            SecurityGroupEgress=[_rule("tcp", 80, "HTTP to the web servers in the VPC", CidrIp=p.vpc_cidr)],
            Tags=tags(p, "security"),
            Metadata=_checkov_skip(
                "CKV_AWS_260",
                "Internet-facing load balancer: port 80 must be open to the world; its listener redirects to "
                "HTTPS when a certificate is configured.",
            ),
        )
    )
    instances = t.add_resource(
        ec2.SecurityGroup(
            "InstanceSecurityGroup",
            GroupDescription="Web servers: HTTP from the load balancer only",
            VpcId=net.vpc,
            # Rules stay inline (not separate ingress resources) so every reader, emulators included, sees
            # them on the group itself.
            SecurityGroupIngress=[
                _rule("tcp", 80, "HTTP from the load balancer", SourceSecurityGroupId=GetAtt(alb, "GroupId"))
            ],
            SecurityGroupEgress=[
                _rule(
                    "tcp",
                    443,
                    "HTTPS to package repositories, SSM and CloudWatch via the NAT gateways",
                    CidrIp=ANYWHERE,
                )
            ],
            Tags=tags(p, "security"),
        )
    )
    return alb, instances


def _instance_role(t: Template, p: StackParameters, enc: Encryption) -> iam.Role:
    read_static_content = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ListStaticBucket",
                Effect=Allow,
                Action=[s3.ListBucket],
                Resource=[Sub(STATIC_BUCKET_ARN)],
            ),
            Statement(
                Sid="ReadStaticObjects",
                Effect=Allow,
                Action=[s3.GetObject],
                Resource=[Sub(STATIC_BUCKET_ARN + "/*")],
            ),
            Statement(
                # Objects are SSE-KMS: reading them decrypts through S3, and only through S3.
                Sid="DecryptStaticObjectsThroughS3",
                Effect=Allow,
                Action=[kms.Decrypt],
                Resource=[enc.key_arn],
                Condition=Condition(StringEquals("kms:ViaService", Sub("s3.${AWS::Region}.amazonaws.com"))),
            ),
        ],
    )
    # No RoleName: a named role would need CAPABILITY_NAMED_IAM and could not be replaced without a rename.
    return t.add_resource(
        iam.Role(
            "InstanceRole",
            Description=Sub(
                "Web servers of tap ${EnvironmentSuffix}: CloudWatch agent, SSM, static content read"
            ),
            AssumeRolePolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", "ec2.amazonaws.com"),
                        Action=[sts.AssumeRole],
                    )
                ],
            ),
            ManagedPolicyArns=[Sub(arn) for arn in MANAGED_POLICIES],
            Policies=[iam.Policy(PolicyName="read-static-content", PolicyDocument=read_static_content)],
            Tags=tags(p, "security"),
        )
    )


def add_security(
    t: Template, p: StackParameters | None = None, net: Network | None = None, enc: Encryption | None = None
) -> Security:
    p = p or add_parameters(t)
    enc = enc or add_encryption(t, p)
    if net is None:
        from templates.network import add_network  # network imports this module

        net = add_network(t, p, enc)
    alb, instances = _security_groups(t, p, net)
    role = _instance_role(t, p, enc)
    profile = t.add_resource(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))
    return Security(
        alb_security_group=Ref(alb),
        instance_security_group=Ref(instances),
        instance_role=Ref(role),
        instance_profile=Ref(profile),
    )

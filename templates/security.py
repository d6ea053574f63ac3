"""Security groups, and the web servers' IAM role and instance profile."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import cloudformation, kms, s3, sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, Template, ec2, iam

from templates import naming
from templates.encryption import Encryption
from templates.network import Network
from templates.parameters import StackParameters
from templates.tags import tags

ANYWHERE = "0.0.0.0/0"
STATIC_BUCKET_ARN = "arn:${AWS::Partition}:s3:::" + naming.STATIC_BUCKET
# The boot script signals its result to this stack's Auto Scaling group (templates/compute.py).
THIS_STACK_ARN = (
    "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*"
)
MANAGED_POLICIES = (
    "arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy",
    "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
)


@dataclass(frozen=True)
class Security:
    alb_security_group: Ref
    instance_security_group: Ref
    instance_role: Ref
    instance_profile: Ref


def _checkov_skip(check_id: str, reason: str) -> dict[str, object]:
    return {"checkov": {"skip": [{"id": check_id, "comment": reason}]}}


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
            Statement(
                # Success and failure of the boot script, sent with the AWS CLI (templates/compute.py).
                Sid="SignalBootResultToThisStack",
                Effect=Allow,
                Action=[cloudformation.SignalResource],
                Resource=[Sub(THIS_STACK_ARN)],
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


def add_security(t: Template, p: StackParameters, net: Network, enc: Encryption) -> Security:
    alb, instances = _security_groups(t, p, net)
    role = _instance_role(t, p, enc)
    profile = t.add_resource(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))
    return Security(
        alb_security_group=Ref(alb),
        instance_security_group=Ref(instances),
        instance_role=Ref(role),
        instance_profile=Ref(profile),
    )

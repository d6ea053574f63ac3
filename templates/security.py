"""Security groups, and the web servers' IAM role and instance profile."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import cloudformation, cloudwatch, sts
from awacs import ec2 as ec2_actions
from awacs import logs as log_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, Template, ec2, iam

from templates import naming
from templates.log_groups import LogGroups
from templates.network import Network
from templates.parameters import StackParameters
from templates.tags import tags

ANYWHERE = "0.0.0.0/0"
# Session Manager access. CloudWatchAgentServerPolicy is not attached: it grants logs and metrics everywhere,
# the inline policy grants them for this stack's log groups and namespace.
MANAGED_POLICIES = ("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",)


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


def _instance_role(t: Template, p: StackParameters, logs: LogGroups) -> iam.Role:
    # What the boot script (templates/compute.py) and the CloudWatch agent it starts do, and nothing else: the
    # script reads no bucket and decrypts nothing (EBS encryption is the Auto Scaling service-linked role's
    # business), so neither S3 nor KMS is granted.
    boot_and_telemetry = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                # The agent's log streams, in the stack's two web-server log groups only. A log group's Arn
                # ends in ":*" and so covers its streams; the groups exist, so CreateLogGroup is not needed.
                Sid="WriteWebServerLogs",
                Effect=Allow,
                Action=[
                    log_actions.CreateLogStream,
                    log_actions.PutLogEvents,
                    log_actions.DescribeLogStreams,
                ],
                Resource=[logs.application_arn, logs.access_arn],
            ),
            Statement(
                # PutMetricData has no resource-level permissions (its resource is "*"); the cloudwatch:namespace
                # condition key limits it to the agent's namespace of this environment.
                Sid="PublishAgentMetricsToStackNamespace",
                Effect=Allow,
                Action=[cloudwatch.PutMetricData],
                Resource=["*"],
                Condition=Condition(StringEquals("cloudwatch:namespace", Sub(naming.METRICS_NAMESPACE))),
            ),
            Statement(
                # The agent reads the instance's aws:autoscaling:groupName tag for the AutoScalingGroupName
                # dimension. DescribeTags is a list call with no resource-level permissions.
                Sid="ReadOwnTagsForMetricDimensions",
                Effect=Allow,
                Action=[ec2_actions.DescribeTags],
                Resource=["*"],
            ),
            Statement(
                # Success and failure of the boot script, sent with the AWS CLI. IAM cannot narrow this to the
                # group's logical id: the resource is the stack, and AWS::StackId names this stack only (not
                # a later stack of the same name).
                Sid="SignalBootResultToThisStack",
                Effect=Allow,
                Action=[cloudformation.SignalResource],
                Resource=[Ref("AWS::StackId")],
            ),
        ],
    )
    # No RoleName: a named role would need CAPABILITY_NAMED_IAM and could not be replaced without a rename.
    return t.add_resource(
        iam.Role(
            "InstanceRole",
            Description=Sub(
                "Web servers of tap ${EnvironmentSuffix}: boot signal, CloudWatch agent (stack logs and metrics), SSM"
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
            Policies=[iam.Policy(PolicyName="boot-and-telemetry", PolicyDocument=boot_and_telemetry)],
            Tags=tags(p, "security"),
        )
    )


def add_security(t: Template, p: StackParameters, net: Network, logs: LogGroups) -> Security:
    alb, instances = _security_groups(t, p, net)
    role = _instance_role(t, p, logs)
    profile = t.add_resource(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))
    return Security(
        alb_security_group=Ref(alb),
        instance_security_group=Ref(instances),
        instance_role=Ref(role),
        instance_profile=Ref(profile),
    )

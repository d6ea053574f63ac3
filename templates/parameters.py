"""Parameters, Conditions and console metadata shared by the web-application stack.

Every parameter has a safe default, so the template deploys with no parameters at all. Constraint
descriptions say what was wrong and how to fix it, because the operations team reads them in the console.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Equals, If, Not, Parameter, Ref, Template

# The longest suffix for which every derived name still fits its AWS limit (see templates/naming.py).
MAX_SUFFIX_LENGTH = 20
SUFFIX_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

AMAZON_LINUX_2023_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

# Condition names. Modules use these constants, never string literals, to refer to a condition.
# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

CREATE_KMS_KEY = "CreateKmsKey"
HAS_CERTIFICATE = "HasCertificate"
NAT_PER_AZ = "NatGatewayPerAz"
HAS_ALARM_EMAIL = "HasAlarmEmail"
CREATE_AUTOSCALING_ROLE = "CreateAutoScalingServiceLinkedRole"


PARAMETER_TITLES = {
    "environment_suffix": "EnvironmentSuffix",
    "kms_key_arn": "KmsKeyArn",
    "project_name": "ProjectName",
    "cost_center": "CostCenter",
    "vpc_cidr": "VpcCidr",
    "nat_gateway_mode": "NatGatewayMode",
    "certificate_arn": "CertificateArn",
    "alb_deletion_protection": "LoadBalancerDeletionProtection",
    "instance_type": "InstanceType",
    "image_id": "ImageId",
    "min_size": "MinSize",
    "max_size": "MaxSize",
    "desired_capacity": "DesiredCapacity",
    "cpu_target_utilization": "CpuTargetUtilization",
    "requests_per_target": "RequestsPerTarget",
    "create_autoscaling_role": "CreateAutoScalingServiceLinkedRole",
    "alarm_email": "AlarmEmail",
    "cpu_alarm_threshold": "CpuAlarmThreshold",
    "log_retention_days": "LogRetentionDays",
}


@dataclass(frozen=True)
class StackParameters:
    environment_suffix: Ref
    kms_key_arn: Ref
    project_name: Ref
    cost_center: Ref
    vpc_cidr: Ref
    nat_gateway_mode: Ref
    certificate_arn: Ref
    alb_deletion_protection: Ref
    instance_type: Ref
    image_id: Ref
    min_size: Ref
    max_size: Ref
    desired_capacity: Ref
    cpu_target_utilization: Ref
    requests_per_target: Ref
    create_autoscaling_role: Ref
    alarm_email: Ref
    cpu_alarm_threshold: Ref
    log_retention_days: Ref


def _group(label: str, params: list[Parameter]) -> dict[str, object]:
    return {"Label": {"default": label}, "Parameters": [p.title for p in params]}


def _refs() -> StackParameters:
    return StackParameters(**{field: Ref(title) for field, title in PARAMETER_TITLES.items()})


def add_parameters(t: Template) -> StackParameters:
    """Add every stack parameter, the shared conditions and the console interface metadata.

    Calling it again on a template that already has them returns the same references, so any builder can
    call it for its defaults.
    """
    if "EnvironmentSuffix" in t.parameters:
        return _refs()
    suffix = t.add_parameter(
        Parameter(
            "EnvironmentSuffix",
            Type="String",
            Default="dev",
            MinLength=1,
            MaxLength=MAX_SUFFIX_LENGTH,
            AllowedPattern=SUFFIX_PATTERN,
            Description=(
                "Short name of this environment, used in every resource name (e.g. dev, staging, prod, pr-123). "
                f"Lower-case letters, digits and single hyphens, at most {MAX_SUFFIX_LENGTH} characters."
            ),
            ConstraintDescription=(
                f"must be 1-{MAX_SUFFIX_LENGTH} lower-case letters or digits, optionally separated by single "
                "hyphens, starting and ending with a letter or digit (e.g. 'dev' or 'pr-123'). "
                "Upper-case letters are not allowed because S3 bucket names are derived from it."
            ),
        )
    )
    project = t.add_parameter(
        Parameter(
            "ProjectName",
            Type="String",
            Default="tap-web-app",
            MinLength=1,
            MaxLength=64,
            AllowedPattern=r"^[A-Za-z0-9][A-Za-z0-9 _.:/=+@-]*$",
            Description="Value of the Project tag on every resource.",
            ConstraintDescription="must be 1-64 characters valid in a tag value, starting with a letter or digit.",
        )
    )
    cost_center = t.add_parameter(
        Parameter(
            "CostCenter",
            Type="String",
            Default="web-platform",
            MinLength=1,
            MaxLength=64,
            AllowedPattern=r"^[A-Za-z0-9][A-Za-z0-9 _.:/=+@-]*$",
            Description="Value of the CostCenter cost-allocation tag on every resource.",
            ConstraintDescription="must be 1-64 characters valid in a tag value, starting with a letter or digit.",
        )
    )
    kms_key_arn = t.add_parameter(
        Parameter(
            "KmsKeyArn",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$",
            Description=(
                "ARN of an existing customer managed KMS key to encrypt EBS volumes, logs, the SNS topic and the "
                "static bucket. Leave empty to create a key in this stack. A key you bring must let these use it: "
                "the Auto Scaling service-linked role (AWSServiceRoleForAutoScaling, including kms:CreateGrant), "
                "logs.<region>.amazonaws.com for the /tap/<suffix>/ log groups, cloudwatch.amazonaws.com for the "
                "alarm topic, and cloudfront.amazonaws.com (kms:Decrypt); output/tap-stack.md lists the statements."
            ),
            ConstraintDescription=(
                "must be empty or a full KMS key ARN such as arn:aws:kms:<region>:<account-id>:key/<key-id> "
                "(an alias ARN or a bare key id is not accepted)."
            ),
        )
    )
    vpc_cidr = t.add_parameter(
        Parameter(
            "VpcCidr",
            Type="String",
            Default="10.0.0.0/16",
            AllowedPattern=r"^(10|172|192)\.[0-9]{1,3}\.0\.0/16$",
            Description="IPv4 CIDR block of the VPC (a private /16; subnets are carved as /20s from it).",
            ConstraintDescription="must be a private /16 block whose last two octets are 0, e.g. 10.0.0.0/16.",
        )
    )
    nat_mode = t.add_parameter(
        Parameter(
            "NatGatewayMode",
            Type="String",
            Default="per-az",
            AllowedValues=["per-az", "single"],
            Description=(
                "per-az: one NAT gateway in each Availability Zone (survives the loss of a zone). "
                "single: one shared NAT gateway (lower cost, private subnets lose egress if its zone fails)."
            ),
            ConstraintDescription="must be per-az or single.",
        )
    )
    certificate_arn = t.add_parameter(
        Parameter(
            "CertificateArn",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[a-zA-Z0-9-]+$",
            Description=(
                "ARN of an ACM certificate in this region for the load balancer. Given: HTTPS on 443 (TLS 1.2+) "
                "and port 80 redirects to it. Empty: plain HTTP on port 80."
            ),
            ConstraintDescription="must be empty or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>).",
        )
    )
    deletion_protection = t.add_parameter(
        Parameter(
            "LoadBalancerDeletionProtection",
            Type="String",
            Default="false",
            AllowedValues=["true", "false"],
            Description="true: the load balancer cannot be deleted until this is set back to false (use in production).",
            ConstraintDescription="must be true or false.",
        )
    )
    instance_type = t.add_parameter(
        Parameter(
            "InstanceType",
            Type="String",
            Default="t3.micro",
            AllowedPattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
            Description=(
                "EC2 instance type of the web servers: an x86_64 type (the default AMI is x86_64) that supports "
                "EBS encryption, e.g. t3.small or m7i.large."
            ),
            ConstraintDescription="must be an EC2 instance type such as t3.micro or m7i.large.",
        )
    )
    image_id = t.add_parameter(
        Parameter(
            "ImageId",
            Type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            Default=AMAZON_LINUX_2023_AMI,
            Description=(
                "SSM parameter that holds the AMI id. The default is the public parameter for the latest "
                "Amazon Linux 2023 (x86_64), resolved in whichever region the stack is deployed."
            ),
        )
    )
    min_size = t.add_parameter(
        Parameter(
            "MinSize",
            Type="Number",
            Default=2,
            MinValue=2,
            MaxValue=5,
            Description="Minimum number of web servers (at least 2, one per Availability Zone, for high availability).",
            ConstraintDescription="must be a whole number from 2 to 5, and not more than MaxSize.",
        )
    )
    max_size = t.add_parameter(
        Parameter(
            "MaxSize",
            Type="Number",
            Default=5,
            MinValue=2,
            MaxValue=20,
            Description="Maximum number of web servers the Auto Scaling group may scale out to.",
            ConstraintDescription="must be a whole number from 2 to 20, and not less than MinSize.",
        )
    )
    desired = t.add_parameter(
        Parameter(
            "DesiredCapacity",
            Type="Number",
            Default=2,
            MinValue=2,
            MaxValue=20,
            Description="Number of web servers to start with; scaling policies adjust it between MinSize and MaxSize.",
            ConstraintDescription="must be a whole number from 2 to 20, between MinSize and MaxSize.",
        )
    )
    cpu_target = t.add_parameter(
        Parameter(
            "CpuTargetUtilization",
            Type="Number",
            Default=70,
            MinValue=10,
            MaxValue=90,
            Description="Average CPU utilisation (percent) the target tracking policy keeps the group at.",
            ConstraintDescription="must be a number from 10 to 90.",
        )
    )
    requests_per_target = t.add_parameter(
        Parameter(
            "RequestsPerTarget",
            Type="Number",
            Default=1000,
            MinValue=10,
            MaxValue=100000,
            Description="ALB requests per instance per minute that the request-count target tracking policy aims for.",
            ConstraintDescription="must be a number from 10 to 100000.",
        )
    )
    create_role = t.add_parameter(
        Parameter(
            "CreateAutoScalingServiceLinkedRole",
            Type="String",
            Default="false",
            AllowedValues=["true", "false"],
            Description=(
                "false (recommended): EC2 Auto Scaling uses AWSServiceRoleForAutoScaling and creates it on first "
                "use. true: this stack creates that service-linked role, which fails if it already exists."
            ),
            ConstraintDescription="must be true or false.",
        )
    )
    alarm_email = t.add_parameter(
        Parameter(
            "AlarmEmail",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            Description="E-mail address subscribed to the alarm topic (confirm the subscription e-mail). Empty: none.",
            ConstraintDescription="must be empty or one e-mail address such as ops@example.com.",
        )
    )
    cpu_alarm = t.add_parameter(
        Parameter(
            "CpuAlarmThreshold",
            Type="Number",
            Default=80,
            MinValue=1,
            MaxValue=100,
            Description="Average CPU utilisation (percent) of the group above which the high-CPU alarm notifies.",
            ConstraintDescription="must be a number from 1 to 100.",
        )
    )
    retention = t.add_parameter(
        Parameter(
            "LogRetentionDays",
            Type="Number",
            Default="90",
            AllowedValues=[str(days) for days in LOG_RETENTION_DAYS],
            Description="Days CloudWatch Logs keeps application and VPC flow logs.",
            ConstraintDescription="must be one of the retention periods CloudWatch Logs accepts, e.g. 30, 90 or 365.",
        )
    )

    # Rolling updates keep MinSize instances in service and need room for one more (AWS requires
    # MinInstancesInService < MaxSize), so MinSize must be below MaxSize.
    t.add_rule(
        "MinSizeBelowMaxSize",
        {
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(min_size), Ref(max_size))),
                    "AssertDescription": (
                        "MinSize must be less than MaxSize: a rolling update starts one extra instance before "
                        "it retires an old one. Raise MaxSize or lower MinSize."
                    ),
                }
            ]
        },
    )
    t.add_condition(CREATE_KMS_KEY, Equals(Ref(kms_key_arn), ""))
    t.add_condition(HAS_CERTIFICATE, Not(Equals(Ref(certificate_arn), "")))
    t.add_condition(NAT_PER_AZ, Equals(Ref(nat_mode), "per-az"))
    t.add_condition(HAS_ALARM_EMAIL, Not(Equals(Ref(alarm_email), "")))
    t.add_condition(CREATE_AUTOSCALING_ROLE, Equals(Ref(create_role), "true"))

    groups = [
        _group("Environment", [suffix, project, cost_center]),
        _group("Encryption", [kms_key_arn]),
        _group("Network", [vpc_cidr, nat_mode]),
        _group("Load balancer", [certificate_arn, deletion_protection]),
        _group(
            "Web servers and scaling",
            [
                instance_type,
                image_id,
                min_size,
                max_size,
                desired,
                cpu_target,
                requests_per_target,
                create_role,
            ],
        ),
        _group("Monitoring", [alarm_email, cpu_alarm, retention]),
    ]
    labels = {
        "EnvironmentSuffix": "Environment suffix",
        "ProjectName": "Project tag",
        "CostCenter": "Cost center tag",
        "KmsKeyArn": "Existing KMS key ARN (optional)",
        "VpcCidr": "VPC CIDR block",
        "NatGatewayMode": "NAT gateways",
        "CertificateArn": "ACM certificate ARN (optional)",
        "LoadBalancerDeletionProtection": "Load balancer deletion protection",
        "InstanceType": "Instance type",
        "ImageId": "AMI (SSM parameter)",
        "MinSize": "Minimum instances",
        "MaxSize": "Maximum instances",
        "DesiredCapacity": "Desired instances",
        "CpuTargetUtilization": "Target CPU utilisation (%)",
        "RequestsPerTarget": "Target requests per instance",
        "CreateAutoScalingServiceLinkedRole": "Create Auto Scaling service-linked role",
        "AlarmEmail": "Alarm e-mail (optional)",
        "CpuAlarmThreshold": "High-CPU alarm threshold (%)",
        "LogRetentionDays": "Log retention (days)",
    }
    t.set_metadata(
        {
            "AWS::CloudFormation::Interface": {
                "ParameterGroups": groups,
                "ParameterLabels": {name: {"default": label} for name, label in labels.items()},
            }
        }
    )

    return _refs()


def if_certificate(with_cert: object, without: object) -> If:
    """Choose a value by whether a certificate was given."""
    return If(HAS_CERTIFICATE, with_cert, without)

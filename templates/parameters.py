"""Parameters, Rules, Conditions and console metadata of the web-application stack.

Each parameter is declared once, as a field of `StackParameters` whose metadata is its `ParamSpec`: the
Parameter, its console group and its label are all made from that one spec. Every parameter has a safe
default, so the template deploys with no parameters at all. Constraint descriptions say what was wrong and how
to fix it, because the operations team reads them in the console.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from troposphere import Equals, Not, Parameter, Ref, Template

# The longest suffix for which every derived name still fits its AWS limit (see templates/naming.py).
MAX_SUFFIX_LENGTH = 20
SUFFIX_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
TAG_VALUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.:/=+@-]*$"
# Private ranges only (RFC 1918: 10/8, 172.16/12, 192.168/16), prefix /16 to /24 (the four subnets are carved
# from it, templates/network.py, and need at least a /24), and a network address: EC2 refuses a block whose
# host bits are set, so /16 ends in .0.0, /17 to /23 have a third octet on their boundary, and /24 ends in .0.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PRIVATE_FIRST_TWO = r"(10\." + _OCTET + r"|172\.(1[6-9]|2[0-9]|3[01])|192\.168)"


def _network_address_suffixes() -> str:
    by_prefix = [r"0\.0/16"]
    for prefix in range(17, 24):
        step = 2 ** (24 - prefix)
        thirds = "|".join(str(octet) for octet in range(0, 256, step))
        by_prefix.append(f"({thirds})\\.0/{prefix}")
    by_prefix.append(_OCTET + r"\.0/24")
    return "(" + "|".join(by_prefix) + ")"


VPC_CIDR_PATTERN = "^" + _PRIVATE_FIRST_TWO + r"\." + _network_address_suffixes() + "$"

CERTIFICATE_ARN_PATTERN = r"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f]+(-[0-9a-f]+)*$"

AMAZON_LINUX_2023_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
# The AMIs the boot script works on: the standard Amazon Linux 2023 images for x86_64, which carry the AWS CLI
# that sends the boot signal. Not the minimal images (al2023-ami-minimal-*: no AWS CLI, so not even FAILURE
# could be signalled and every launch would wait out the signal timeout), and not arm64 (the instance types
# below are x86_64, and EC2 refuses to launch an AMI on an instance of another architecture).
SUPPORTED_AMIS = (
    AMAZON_LINUX_2023_AMI,
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
)
# Current-generation x86_64 types (Intel and AMD), all Nitro with EBS encryption, matching SUPPORTED_AMIS.
X86_64_INSTANCE_TYPES = (
    *("t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge"),
    *("t3a.micro", "t3a.small", "t3a.medium", "t3a.large", "t3a.xlarge"),
    *(
        "m6i.large",
        "m6i.xlarge",
        "m6a.large",
        "m6a.xlarge",
        "m7i.large",
        "m7i.xlarge",
        "m7a.large",
        "m7a.xlarge",
    ),
    *("c6i.large", "c6i.xlarge", "c7i.large", "c7i.xlarge", "r6i.large", "r7i.large"),
)

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS: tuple[int, ...] = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096)
LOG_RETENTION_DAYS += (1827, 2192, 2557, 2922, 3288, 3653)

# The group sizes the parameters admit. MaxSize starts one above the smallest MinSize: a rolling update keeps
# MinSize instances in service, and CloudFormation requires MinInstancesInService < MaxSize.
MIN_SIZES = tuple(range(2, 11))
MAX_SIZES = tuple(range(3, 21))

# Condition names. Modules use these constants, never string literals, to refer to a condition.
CREATE_KMS_KEY = "CreateKmsKey"
HAS_CERTIFICATE = "HasCertificate"
NAT_PER_AZ = "NatGatewayPerAz"
HAS_ALARM_EMAIL = "HasAlarmEmail"
# Not the parameter's own name (CreateAutoScalingServiceLinkedRole): a condition and a parameter of one name
# read as one thing in Fn::If and Ref, and the console and the page listed both under it.
CREATE_AUTOSCALING_ROLE = "StackCreatesAutoScalingRole"

# Console groups, in the order the console shows them.
ENVIRONMENT = "Environment"
ENCRYPTION = "Encryption"
NETWORK = "Network"
LOAD_BALANCER = "Load balancer"
WEB_SERVERS = "Web servers and scaling"
MONITORING = "Monitoring"
GROUPS = (ENVIRONMENT, ENCRYPTION, NETWORK, LOAD_BALANCER, WEB_SERVERS, MONITORING)
TRUE_FALSE: dict[str, Any] = {
    "Type": "String",
    "AllowedValues": ["true", "false"],
    "ConstraintDescription": "must be true or false.",
}


@dataclass(frozen=True)
class ParamSpec:
    """Everything about one parameter: its name, console group and label, and the Parameter's properties."""

    title: str
    group: str
    label: str
    properties: dict[str, Any]

    def parameter(self) -> Parameter:
        return Parameter(self.title, **self.properties)


def spec(title: str, group: str, label: str, **properties: Any) -> dict[str, ParamSpec]:
    """The metadata of a StackParameters field: the spec of the parameter whose Ref the field holds."""
    return {"spec": ParamSpec(title, group, label, properties)}


@dataclass(frozen=True)
class StackParameters:
    environment_suffix: Ref = field(
        metadata=spec(
            "EnvironmentSuffix",
            ENVIRONMENT,
            "Environment suffix",
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
    project_name: Ref = field(
        metadata=spec(
            "ProjectName",
            ENVIRONMENT,
            "Project tag",
            Type="String",
            Default="tap-web-app",
            MinLength=1,
            MaxLength=64,
            AllowedPattern=TAG_VALUE_PATTERN,
            Description="Value of the Project tag on every resource.",
            ConstraintDescription="must be 1-64 characters valid in a tag value, starting with a letter or digit.",
        )
    )
    cost_center: Ref = field(
        metadata=spec(
            "CostCenter",
            ENVIRONMENT,
            "Cost center tag",
            Type="String",
            Default="web-platform",
            MinLength=1,
            MaxLength=64,
            AllowedPattern=TAG_VALUE_PATTERN,
            Description="Value of the CostCenter cost-allocation tag on every resource.",
            ConstraintDescription="must be 1-64 characters valid in a tag value, starting with a letter or digit.",
        )
    )
    kms_key_arn: Ref = field(
        metadata=spec(
            "KmsKeyArn",
            ENCRYPTION,
            "Existing KMS key ARN (optional)",
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
    vpc_cidr: Ref = field(
        metadata=spec(
            "VpcCidr",
            NETWORK,
            "VPC CIDR block",
            Type="String",
            Default="10.0.0.0/16",
            AllowedPattern=VPC_CIDR_PATTERN,
            Description=(
                "Private IPv4 CIDR block of the VPC, /16 to /24. A /16 is carved into four /20 subnets; a smaller "
                "block into four /26 subnets from its first /24."
            ),
            ConstraintDescription=(
                "must be a private block (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 "
                "to /24, e.g. 10.0.0.0/16 or 172.20.4.0/24."
            ),
        )
    )
    nat_gateway_mode: Ref = field(
        metadata=spec(
            "NatGatewayMode",
            NETWORK,
            "NAT gateways",
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
    certificate_arn: Ref = field(
        metadata=spec(
            "CertificateArn",
            LOAD_BALANCER,
            "ACM certificate ARN (optional)",
            Type="String",
            Default="",
            # ACM certificate ids are lower-case hexadecimal UUIDs: an example file's placeholder (upper-case
            # REPLACE-WITH-...) is refused when the change set is made, not when the HTTPS listener fails.
            AllowedPattern=CERTIFICATE_ARN_PATTERN,
            Description=(
                "ARN of an ACM certificate in this region for the load balancer. Given: HTTPS on 443 (TLS 1.2+) "
                "and port 80 redirects to it. Empty: plain HTTP on port 80 (refused when RequireHttps is true)."
            ),
            ConstraintDescription=(
                "must be empty or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>, the id "
                "in lower-case hexadecimal as ACM issues it), not an example file's placeholder."
            ),
        )
    )
    require_https: Ref = field(
        metadata=spec(
            "RequireHttps",
            LOAD_BALANCER,
            "Require HTTPS",
            **TRUE_FALSE,
            Default="false",
            Description=(
                "true (use in production): the stack refuses to deploy without a CertificateArn, so it can never "
                "serve plain HTTP. false: an empty CertificateArn serves HTTP on port 80."
            ),
        )
    )
    alb_deletion_protection: Ref = field(
        metadata=spec(
            "LoadBalancerDeletionProtection",
            LOAD_BALANCER,
            "Load balancer deletion protection",
            **TRUE_FALSE,
            Default="false",
            Description="true: the load balancer cannot be deleted until this is set back to false (use in production).",
        )
    )
    instance_type: Ref = field(
        metadata=spec(
            "InstanceType",
            WEB_SERVERS,
            "Instance type",
            Type="String",
            Default="t3.micro",
            AllowedValues=list(X86_64_INSTANCE_TYPES),
            Description=(
                "EC2 instance type of the web servers: one of the listed x86_64 types, which the x86_64 Amazon "
                "Linux 2023 AMI (ImageId) boots on and which support EBS encryption."
            ),
            ConstraintDescription=(
                "must be one of the listed x86_64 instance types (e.g. t3.micro, t3.small, m7i.large): an arm64 "
                "type (t4g, m7g, ...) cannot boot the x86_64 AMI, and the launch would only fail after the "
                "signal timeout."
            ),
        )
    )
    image_id: Ref = field(
        metadata=spec(
            "ImageId",
            WEB_SERVERS,
            "AMI (SSM parameter)",
            Type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            Default=AMAZON_LINUX_2023_AMI,
            # For an SSM parameter type the constraints apply to the parameter's name, the value given here.
            AllowedValues=list(SUPPORTED_AMIS),
            Description=(
                "Public SSM parameter that holds the AMI id, resolved in whichever region the stack is "
                "deployed: the latest standard Amazon Linux 2023 for x86_64, kernel default or 6.1. Not the "
                "minimal AMI (it has no AWS CLI, so the boot script cannot signal) and not arm64."
            ),
            ConstraintDescription=(
                "must be one of the listed Amazon Linux 2023 x86_64 parameters "
                "(/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 or ...-kernel-6.1-x86_64)."
            ),
        )
    )
    min_size: Ref = field(
        metadata=spec(
            "MinSize",
            WEB_SERVERS,
            "Minimum instances",
            # String with AllowedValues: a value is accepted only as spelt in the list, so "4.0" or "04" cannot
            # pass (the Rules compare the strings).
            Type="String",
            Default=str(MIN_SIZES[0]),
            AllowedValues=[str(n) for n in MIN_SIZES],
            Description=(
                f"Minimum number of web servers, {MIN_SIZES[0]} to {MIN_SIZES[-1]} (at least 2, one per "
                "Availability Zone, for high availability). The group starts with this many; the scaling "
                "policies move it between MinSize and MaxSize."
            ),
            ConstraintDescription=(
                f"must be a whole number from {MIN_SIZES[0]} to {MIN_SIZES[-1]} written without decimals, and "
                "less than MaxSize."
            ),
        )
    )
    max_size: Ref = field(
        metadata=spec(
            "MaxSize",
            WEB_SERVERS,
            "Maximum instances",
            Type="String",
            Default="5",
            AllowedValues=[str(n) for n in MAX_SIZES],
            Description=(
                f"Maximum number of web servers the Auto Scaling group may scale out to, {MAX_SIZES[0]} to "
                f"{MAX_SIZES[-1]} (more than MinSize)."
            ),
            ConstraintDescription=(
                f"must be a whole number from {MAX_SIZES[0]} to {MAX_SIZES[-1]} written without decimals, and "
                "more than MinSize."
            ),
        )
    )
    cpu_target_utilization: Ref = field(
        metadata=spec(
            "CpuTargetUtilization",
            WEB_SERVERS,
            "Target CPU utilisation (%)",
            Type="Number",
            Default=70,
            MinValue=10,
            MaxValue=90,
            Description="Average CPU utilisation (percent) the target tracking policy keeps the group at.",
            ConstraintDescription="must be a number from 10 to 90.",
        )
    )
    requests_per_target: Ref = field(
        metadata=spec(
            "RequestsPerTarget",
            WEB_SERVERS,
            "Target requests per instance",
            Type="Number",
            Default=1000,
            MinValue=10,
            MaxValue=100000,
            Description="ALB requests per instance per minute that the request-count target tracking policy aims for.",
            ConstraintDescription="must be a number from 10 to 100000.",
        )
    )
    create_autoscaling_role: Ref = field(
        metadata=spec(
            "CreateAutoScalingServiceLinkedRole",
            WEB_SERVERS,
            "Create Auto Scaling service-linked role",
            **TRUE_FALSE,
            Default="false",
            Description=(
                "false (recommended): EC2 Auto Scaling uses AWSServiceRoleForAutoScaling and creates it on first "
                "use. true: this stack creates that service-linked role, which fails if it already exists."
            ),
        )
    )
    alarm_email: Ref = field(
        metadata=spec(
            "AlarmEmail",
            MONITORING,
            "Alarm e-mail (optional)",
            Type="String",
            Default="",
            AllowedPattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            Description="E-mail address subscribed to the alarm topic (confirm the subscription e-mail). Empty: none.",
            ConstraintDescription="must be empty or one e-mail address such as ops@example.com.",
        )
    )
    cpu_alarm_threshold: Ref = field(
        metadata=spec(
            "CpuAlarmThreshold",
            MONITORING,
            "High-CPU alarm threshold (%)",
            Type="Number",
            Default=80,
            MinValue=1,
            MaxValue=100,
            Description="Average CPU utilisation (percent) of the group above which the high-CPU alarm notifies.",
            ConstraintDescription="must be a number from 1 to 100.",
        )
    )
    log_retention_days: Ref = field(
        metadata=spec(
            "LogRetentionDays",
            MONITORING,
            "Log retention (days)",
            Type="Number",
            Default="90",
            AllowedValues=[str(days) for days in LOG_RETENTION_DAYS],
            Description="Days CloudWatch Logs keeps application and VPC flow logs.",
            ConstraintDescription="must be one of the retention periods CloudWatch Logs accepts, e.g. 30, 90 or 365.",
        )
    )


def parameter_specs() -> tuple[ParamSpec, ...]:
    """Every parameter's spec, in declaration order."""
    return tuple(f.metadata["spec"] for f in dataclasses.fields(StackParameters))


def max_sizes_above(low: int) -> list[str]:
    """The MaxSize values a rolling update allows with MinSize `low` (CloudFormation requires
    MinInstancesInService < MaxSize), as the strings the parameter lists."""
    return [str(high) for high in MAX_SIZES if high > low]


def _add_rules(t: Template, p: StackParameters) -> None:
    # Rolling updates keep MinSize instances in service and need room for one more: CloudFormation requires
    # MinInstancesInService (here MinSize) to be less than MaxSize. Rules cannot compare numbers, so each
    # MinSize value gets a rule listing the MaxSize values above it (Fn::Contains), which refuses every pair
    # MinSize >= MaxSize the AllowedValues admit, before the change set is made.
    for low in MIN_SIZES:
        t.add_rule(
            f"MaxSizeAboveMinSize{low}",
            {
                "RuleCondition": Equals(p.min_size, str(low)),
                "Assertions": [
                    {
                        "Assert": {"Fn::Contains": [max_sizes_above(low), p.max_size]},
                        "AssertDescription": (
                            f"MinSize is {low}, so MaxSize must be more than {low}: a rolling update keeps "
                            "MinSize instances in service and starts one extra before it retires an old one. "
                            "Raise MaxSize or lower MinSize."
                        ),
                    }
                ],
            },
        )
    t.add_rule(
        "RequireHttpsNeedsCertificate",
        {
            "RuleCondition": Equals(p.require_https, "true"),
            "Assertions": [
                {
                    "Assert": Not(Equals(p.certificate_arn, "")),
                    "AssertDescription": (
                        "RequireHttps is true but CertificateArn is empty: give the ARN of an ACM certificate "
                        "in this region, or set RequireHttps to false to serve plain HTTP."
                    ),
                }
            ],
        },
    )


def add_parameters(t: Template) -> StackParameters:
    """Add every stack parameter, the rules across them, the shared conditions and the console metadata."""
    specs = parameter_specs()
    for s in specs:
        t.add_parameter(s.parameter())
    p = StackParameters(
        **{f.name: Ref(f.metadata["spec"].title) for f in dataclasses.fields(StackParameters)}
    )
    _add_rules(t, p)
    t.add_condition(CREATE_KMS_KEY, Equals(p.kms_key_arn, ""))
    t.add_condition(HAS_CERTIFICATE, Not(Equals(p.certificate_arn, "")))
    t.add_condition(NAT_PER_AZ, Equals(p.nat_gateway_mode, "per-az"))
    t.add_condition(HAS_ALARM_EMAIL, Not(Equals(p.alarm_email, "")))
    t.add_condition(CREATE_AUTOSCALING_ROLE, Equals(p.create_autoscaling_role, "true"))
    t.set_metadata(
        {
            "AWS::CloudFormation::Interface": {
                "ParameterGroups": [
                    {"Label": {"default": group}, "Parameters": [s.title for s in specs if s.group == group]}
                    for group in GROUPS
                ],
                "ParameterLabels": {s.title: {"default": s.label} for s in specs},
            }
        }
    )
    return p

"""VPC, subnets in two Availability Zones, internet and NAT gateways, route tables, VPC flow logs."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import logs, sts
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import (
    AWSHelperFn,
    Cidr,
    Equals,
    GetAtt,
    GetAZs,
    If,
    Ref,
    Select,
    Split,
    Sub,
    Template,
    ec2,
    iam,
)
from troposphere import logs as log_resources

from templates import naming
from templates.encryption import Encryption
from templates.lifecycle import retained_unless_its_create_fails
from templates.parameters import NAT_PER_AZ, StackParameters
from templates.tags import tags

COMPONENT = "network"
# A /16 VpcCidr is carved into /20s at these third octets: public A and B, then private A and B (the layout of
# every stack created before smaller blocks were accepted, kept so their subnets are never replaced). They are
# spelt with Fn::Split and Fn::Sub rather than Fn::Cidr because moto (the emulator of the integration tests)
# does not evaluate Fn::Cidr; AWS reads both alike.
PUBLIC_BLOCKS = {"A": 0, "B": 16}
PRIVATE_BLOCKS = {"A": 32, "B": 48}
SUBNET_PREFIX = 20
# A block from /17 to /24 gets four /26 subnets (32 - 6), in order, from its first /24: 59 usable addresses
# each, enough for the load balancer (which needs a /27) and the largest Auto Scaling group.
SMALL_VPC_SUBNET_BITS = 6
SUBNET_ORDER = ("PublicSubnetA", "PublicSubnetB", "PrivateSubnetA", "PrivateSubnetB")
VPC_IS_SLASH_16 = "VpcCidrIsSlash16"
AZ_INDEX = {"A": 0, "B": 1}
ATTACHMENT = "InternetGatewayAttachment"


@dataclass(frozen=True)
class Network:
    vpc: Ref
    availability_zones: tuple[AWSHelperFn, ...]
    public_subnets: tuple[Ref, ...]
    private_subnets: tuple[Ref, ...]
    # Logical ids of the private subnets' default routes and route-table associations: instances there reach
    # package repositories and AWS endpoints only once these exist (until its association exists a subnet
    # uses the VPC's main route table, which has no default route), so whatever boots in them DependsOn these.
    egress_ready: tuple[str, ...] = ()


def _name(suffix: str) -> Sub:
    return Sub(naming.PREFIX + "-${EnvironmentSuffix}-" + suffix)


def _subnet_cidr(p: StackParameters, title: str, third_octet: int) -> If:
    octets = Split(".", p.vpc_cidr)
    slash_20 = Sub(
        "${First}.${Second}." + f"{third_octet}.0/{SUBNET_PREFIX}",
        First=Select(0, octets),
        Second=Select(1, octets),
    )
    slash_26 = Select(SUBNET_ORDER.index(title), Cidr(p.vpc_cidr, len(SUBNET_ORDER), SMALL_VPC_SUBNET_BITS))
    return If(VPC_IS_SLASH_16, slash_20, slash_26)


def _subnet(
    t: Template, p: StackParameters, title: str, vpc: ec2.VPC, az: AWSHelperFn, block: int, label: str
) -> ec2.Subnet:
    return t.add_resource(
        ec2.Subnet(
            title,
            VpcId=Ref(vpc),
            AvailabilityZone=az,
            CidrBlock=_subnet_cidr(p, title, block),
            # Nothing gets a public address by accident; the load balancer and NAT gateways bring their own.
            MapPublicIpOnLaunch=False,
            Tags=tags(p, COMPONENT, Name=_name(label)),
        )
    )


def _associate(t: Template, subnet: ec2.Subnet, table: ec2.RouteTable) -> str:
    association = t.add_resource(
        ec2.SubnetRouteTableAssociation(
            f"{subnet.title}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table)
        )
    )
    return str(association.title)


def _public_routing(t: Template, p: StackParameters, vpc: ec2.VPC, subnets: list[ec2.Subnet]) -> None:
    igw = t.add_resource(ec2.InternetGateway("InternetGateway", Tags=tags(p, COMPONENT, Name=_name("igw"))))
    t.add_resource(ec2.VPCGatewayAttachment(ATTACHMENT, VpcId=Ref(vpc), InternetGatewayId=Ref(igw)))
    table = t.add_resource(
        ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=tags(p, COMPONENT, Name=_name("public")))
    )
    t.add_resource(
        ec2.Route(
            "PublicDefaultRoute",
            DependsOn=ATTACHMENT,  # a route to a gateway that is not attached yet fails
            RouteTableId=Ref(table),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(igw),
        )
    )
    for subnet in subnets:
        _associate(t, subnet, table)


def _nat_gateway(
    t: Template, p: StackParameters, zone: str, subnet: ec2.Subnet, **condition: str
) -> ec2.NatGateway:
    eip = t.add_resource(
        ec2.EIP(
            f"NatEip{zone}",
            DependsOn=ATTACHMENT,
            Domain="vpc",
            Tags=tags(p, COMPONENT, Name=_name(f"nat-{zone.lower()}")),
            **condition,
        )
    )
    return t.add_resource(
        ec2.NatGateway(
            f"NatGateway{zone}",
            AllocationId=GetAtt(eip, "AllocationId"),
            SubnetId=Ref(subnet),
            Tags=tags(p, COMPONENT, Name=_name(f"nat-{zone.lower()}")),
            **condition,
        )
    )


def _private_routing(
    t: Template, p: StackParameters, vpc: ec2.VPC, public: list[ec2.Subnet], private: list[ec2.Subnet]
) -> tuple[str, ...]:
    nat_a = _nat_gateway(t, p, "A", public[0])
    # The second NAT gateway exists only in per-az mode; in single mode zone B routes through zone A's.
    nat_b = _nat_gateway(t, p, "B", public[1], Condition=NAT_PER_AZ)
    targets: dict[str, object] = {"A": Ref(nat_a), "B": If(NAT_PER_AZ, Ref(nat_b), Ref(nat_a))}
    ready: list[str] = []
    tables: list[ec2.RouteTable] = []
    for zone, subnet in zip(("A", "B"), private, strict=True):
        table = t.add_resource(
            ec2.RouteTable(
                f"PrivateRouteTable{zone}",
                VpcId=Ref(vpc),
                Tags=tags(p, COMPONENT, Name=_name(f"private-{zone.lower()}")),
            )
        )
        tables.append(table)
        ready.append(
            t.add_resource(
                ec2.Route(
                    f"PrivateDefaultRoute{zone}",
                    RouteTableId=Ref(table),
                    DestinationCidrBlock="0.0.0.0/0",
                    NatGatewayId=targets[zone],
                )
            ).title
        )
        ready.append(_associate(t, subnet, table))
    _s3_gateway_endpoint(t, p, vpc, tables)
    return tuple(ready)


def _s3_gateway_endpoint(t: Template, p: StackParameters, vpc: ec2.VPC, tables: list[ec2.RouteTable]) -> None:
    # The Amazon Linux 2023 package repositories are served from S3 in the instance's region: through a
    # gateway endpoint (no hourly or data charge) the boot-time installs and updates skip the NAT gateways'
    # per-GB processing charge. No policy: the default allows any S3 request, as the NAT path did.
    t.add_resource(
        ec2.VPCEndpoint(
            "S3GatewayEndpoint",
            VpcId=Ref(vpc),
            VpcEndpointType="Gateway",
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            RouteTableIds=[Ref(table) for table in tables],
            Tags=tags(p, COMPONENT, Name=_name("s3")),
        )
    )


def _flow_logs(t: Template, p: StackParameters, enc: Encryption, vpc: ec2.VPC) -> None:
    group = t.add_resource(
        log_resources.LogGroup(
            "FlowLogGroup",
            LogGroupName=naming.name(naming.FLOW_LOG_GROUP),
            RetentionInDays=p.log_retention_days,
            KmsKeyId=enc.key_arn,
            Tags=tags(p, COMPONENT),
            **retained_unless_its_create_fails(),
        )
    )
    delivery = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="WriteFlowLogStreams",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams],
                Resource=[GetAtt(group, "Arn")],  # the group's ARN ends in :* and so covers its streams
            ),
            Statement(
                # DescribeLogGroups lists groups rather than acting on one; the narrowest resource it accepts
                # is the log-group ARN pattern of this account and region.
                Sid="FindFlowLogGroup",
                Effect=Allow,
                Action=[logs.DescribeLogGroups],
                Resource=[Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")],
            ),
        ],
    )
    role = t.add_resource(
        iam.Role(
            "FlowLogRole",
            Description="Lets VPC Flow Logs deliver this VPC's flow logs to its log group",
            AssumeRolePolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", "vpc-flow-logs.amazonaws.com"),
                        Action=[sts.AssumeRole],
                        # Only flow logs of this account may use the role (confused-deputy protection).
                        Condition=Condition(
                            [
                                StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
                                ArnLike(
                                    "aws:SourceArn",
                                    Sub(
                                        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"
                                    ),
                                ),
                            ]
                        ),
                    )
                ],
            ),
            Policies=[iam.Policy(PolicyName="deliver-flow-logs", PolicyDocument=delivery)],
            Tags=tags(p, COMPONENT),
        )
    )
    t.add_resource(
        ec2.FlowLog(
            "VpcFlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(group),
            DeliverLogsPermissionArn=GetAtt(role, "Arn"),
            Tags=tags(p, COMPONENT),
        )
    )


def add_network(t: Template, p: StackParameters, enc: Encryption) -> Network:
    t.add_condition(VPC_IS_SLASH_16, Equals(Select(1, Split("/", p.vpc_cidr)), "16"))
    vpc = t.add_resource(
        ec2.VPC(
            "Vpc",
            CidrBlock=p.vpc_cidr,
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=tags(p, COMPONENT, Name=_name("vpc")),
        )
    )
    # The first two zones of whichever region the stack runs in; never a hard-coded zone name.
    azs = {zone: Select(index, GetAZs("")) for zone, index in AZ_INDEX.items()}
    public = [
        _subnet(t, p, f"PublicSubnet{z}", vpc, azs[z], block, f"public-{z.lower()}")
        for z, block in PUBLIC_BLOCKS.items()
    ]
    private = [
        _subnet(t, p, f"PrivateSubnet{z}", vpc, azs[z], block, f"private-{z.lower()}")
        for z, block in PRIVATE_BLOCKS.items()
    ]
    _public_routing(t, p, vpc, public)
    egress_ready = _private_routing(t, p, vpc, public, private)
    _flow_logs(t, p, enc, vpc)
    return Network(
        vpc=Ref(vpc),
        availability_zones=tuple(azs.values()),
        public_subnets=tuple(Ref(s) for s in public),
        private_subnets=tuple(Ref(s) for s in private),
        egress_ready=egress_ready,
    )

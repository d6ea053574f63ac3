"""Requirement 2 (network) and the network side of 12 (tags) and 13 (Retain), asserted on the template."""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from typing import Any

import pytest

from templates import naming
from templates.network import VPC_IS_SLASH_16
from templates.parameters import NAT_PER_AZ
from templates.tags import TAG_KEYS
from templates.tap_stack import TapStack
from tests.template_helpers import assert_partial, props, resources_of_type
from tests.unit._fragment import as_list, statements, tag_keys, taggable_types

SUBNETS = ("PublicSubnetA", "PublicSubnetB", "PrivateSubnetA", "PrivateSubnetB")
KEY_ARN = {"Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KmsKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}


def _resolve(value: Any, conditions: dict[str, bool]) -> Any:
    """The value with every Fn::If decided by the given condition values."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return _resolve(when_true if conditions[name] else when_false, conditions)
        return {k: _resolve(v, conditions) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, conditions) for v in value]
    return value


def _exists(tpl: dict[str, Any], logical_id: str, conditions: dict[str, bool]) -> bool:
    condition = tpl["Resources"][logical_id].get("Condition")
    return condition is None or conditions[condition]


def test_vpc_uses_the_cidr_parameter_with_dns_support_and_hostnames(tpl: dict[str, Any]) -> None:
    assert_partial(
        props(tpl, "Vpc"),
        {"CidrBlock": {"Ref": "VpcCidr"}, "EnableDnsSupport": True, "EnableDnsHostnames": True},
    )
    assert tpl["Parameters"]["VpcCidr"]["Default"] == "10.0.0.0/16"


def test_public_and_private_subnets_span_two_distinct_availability_zones(tpl: dict[str, Any]) -> None:
    zones = {name: props(tpl, name)["AvailabilityZone"] for name in SUBNETS}
    for zone in zones.values():
        assert zone["Fn::Select"][1] == {"Fn::GetAZs": ""}, "zones come from Fn::GetAZs, never a literal name"
    assert zones["PublicSubnetA"] == zones["PrivateSubnetA"]
    assert zones["PublicSubnetB"] == zones["PrivateSubnetB"]
    assert zones["PublicSubnetA"]["Fn::Select"][0] != zones["PublicSubnetB"]["Fn::Select"][0]
    assert len(resources_of_type(tpl, "AWS::EC2::Subnet")) == 4


def test_network_result_lists_the_two_zones_and_the_subnets_it_created(
    tpl: dict[str, Any], wired: TapStack
) -> None:
    net = wired.network
    assert [z.to_dict() for z in net.availability_zones] == [
        props(tpl, "PublicSubnetA")["AvailabilityZone"],
        props(tpl, "PublicSubnetB")["AvailabilityZone"],
    ]
    assert [r.to_dict() for r in net.public_subnets] == [{"Ref": "PublicSubnetA"}, {"Ref": "PublicSubnetB"}]
    assert [r.to_dict() for r in net.private_subnets] == [
        {"Ref": "PrivateSubnetA"},
        {"Ref": "PrivateSubnetB"},
    ]
    assert net.vpc.to_dict() == {"Ref": "Vpc"}


def _cidr(block: str, count: int, bits: int) -> list[str]:
    """Fn::Cidr: the first `count` blocks of `bits` host bits carved from `block`, in order."""
    network = ipaddress.IPv4Network(block)
    return [str(subnet) for subnet in itertools.islice(network.subnets(new_prefix=32 - bits), count)]


def _evaluate(value: Any, parameters: dict[str, str], conditions: dict[str, Any] | None = None) -> Any:
    """What CloudFormation makes of Ref (to a parameter), Fn::If, Fn::Equals, Fn::Cidr, Fn::Split, Fn::Select
    and Fn::Sub."""
    if isinstance(value, dict):
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return parameters[arg]
        if fn == "Fn::If":
            assert conditions is not None
            chosen = arg[1] if _evaluate(conditions[arg[0]], parameters) else arg[2]
            return _evaluate(chosen, parameters, conditions)
        if fn == "Fn::Equals":
            return _evaluate(arg[0], parameters) == _evaluate(arg[1], parameters)
        if fn == "Fn::Cidr":
            return _cidr(_evaluate(arg[0], parameters), int(arg[1]), int(arg[2]))
        if fn == "Fn::Split":
            return _evaluate(arg[1], parameters).split(arg[0])
        if fn == "Fn::Select":
            return _evaluate(arg[1], parameters)[arg[0]]
        if fn == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else arg
            for name, inner in names.items():
                text = text.replace("${" + name + "}", _evaluate(inner, parameters))
            assert "${" not in text, f"unresolved variable in {text}"
            return text
        raise AssertionError(f"unexpected {fn} in a subnet CIDR")
    return value


VALID_VPC_CIDRS = {
    # block: the prefix of its subnets
    "10.0.0.0/16": 20,
    "172.20.0.0/16": 20,
    "192.168.0.0/16": 20,
    "10.255.0.0/16": 20,
    "172.31.128.0/17": 26,
    "10.1.252.0/22": 26,
    "192.168.7.0/24": 26,
    "172.16.255.0/24": 26,
}
INVALID_VPC_CIDRS = (
    "11.0.0.0/16",  # public
    "172.15.0.0/16",  # just below 172.16/12
    "172.32.0.0/16",  # just above 172.16/12
    "192.169.0.0/16",  # not 192.168/16
    "100.64.0.0/16",  # shared address space, not RFC 1918
    "10.0.0.0/15",  # larger than the subnets are carved for
    "10.0.0.0/25",  # too small for four subnets
    "10.0.1.0/16",  # host bits set: EC2 refuses it
    "10.0.64.0/17",  # not on a /17 boundary
    "10.0.0.128/24",  # not on a /24 boundary
    "10.256.0.0/16",
    "010.0.0.0/16",
    "10.0.0.0/16 ",
    "10.0.0.0",
)


@pytest.mark.parametrize("vpc_cidr", sorted(VALID_VPC_CIDRS))
def test_vpc_cidr_pattern_accepts_private_network_blocks_from_16_to_24(
    tpl: dict[str, Any], vpc_cidr: str
) -> None:
    assert re.fullmatch(tpl["Parameters"]["VpcCidr"]["AllowedPattern"], vpc_cidr)
    network = ipaddress.IPv4Network(vpc_cidr)  # strict: refuses host bits, as EC2 does
    assert network.is_private and 16 <= network.prefixlen <= 24


@pytest.mark.parametrize("vpc_cidr", INVALID_VPC_CIDRS)
def test_vpc_cidr_pattern_rejects_public_misaligned_and_out_of_range_blocks(
    tpl: dict[str, Any], vpc_cidr: str
) -> None:
    assert not re.fullmatch(tpl["Parameters"]["VpcCidr"]["AllowedPattern"], vpc_cidr)


@pytest.mark.parametrize("vpc_cidr", sorted(VALID_VPC_CIDRS))
def test_subnets_are_four_distinct_blocks_inside_every_accepted_vpc(
    tpl: dict[str, Any], vpc_cidr: str
) -> None:
    vpc = ipaddress.IPv4Network(vpc_cidr)
    values = {"VpcCidr": vpc_cidr}
    blocks = {
        name: ipaddress.IPv4Network(_evaluate(props(tpl, name)["CidrBlock"], values, tpl["Conditions"]))
        for name in SUBNETS
    }
    for name, block in blocks.items():
        assert block.prefixlen == VALID_VPC_CIDRS[vpc_cidr], f"{name}: {block}"
        assert block.subnet_of(vpc), f"{name}: {block} is not inside {vpc}"
        # The load balancer needs at least a /27 with 8 free addresses in each of its subnets.
        assert block.num_addresses >= 64
    for first, second in itertools.combinations(blocks.values(), 2):
        assert not first.overlaps(second), f"{first} overlaps {second}"


def test_a_slash_16_keeps_the_subnets_stacks_were_created_with(tpl: dict[str, Any]) -> None:
    # Existing stacks (all /16) must not see their subnets replaced by the smaller-block layout.
    blocks = [
        _evaluate(props(tpl, n)["CidrBlock"], {"VpcCidr": "10.0.0.0/16"}, tpl["Conditions"]) for n in SUBNETS
    ]
    assert blocks == ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"]
    assert VPC_IS_SLASH_16 in json.dumps(props(tpl, "PublicSubnetA")["CidrBlock"])


def test_map_public_ip_on_launch_is_false_on_every_subnet(tpl: dict[str, Any]) -> None:
    subnets = resources_of_type(tpl, "AWS::EC2::Subnet")
    assert subnets
    for name, subnet in subnets.items():
        assert subnet["Properties"].get("MapPublicIpOnLaunch") is False, name


def test_public_subnets_route_to_the_internet_gateway_after_it_is_attached(tpl: dict[str, Any]) -> None:
    assert_partial(props(tpl, "InternetGatewayAttachment"), {"VpcId": {"Ref": "Vpc"}})
    route = tpl["Resources"]["PublicDefaultRoute"]
    assert route["DependsOn"] == "InternetGatewayAttachment"
    assert_partial(
        route["Properties"],
        {
            "RouteTableId": {"Ref": "PublicRouteTable"},
            "DestinationCidrBlock": "0.0.0.0/0",
            "GatewayId": {"Ref": "InternetGateway"},
        },
    )
    tables = {
        a["Properties"]["SubnetId"]["Ref"]: a["Properties"]["RouteTableId"]["Ref"]
        for a in resources_of_type(tpl, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    assert tables == {
        "PublicSubnetA": "PublicRouteTable",
        "PublicSubnetB": "PublicRouteTable",
        "PrivateSubnetA": "PrivateRouteTableA",
        "PrivateSubnetB": "PrivateRouteTableB",
    }


def test_nat_gateway_per_az_by_default_or_single_by_parameter(tpl: dict[str, Any]) -> None:
    assert tpl["Parameters"]["NatGatewayMode"]["Default"] == "per-az"
    assert tpl["Conditions"][NAT_PER_AZ] == {"Fn::Equals": [{"Ref": "NatGatewayMode"}, "per-az"]}
    assert props(tpl, "NatGatewayA")["SubnetId"] == {"Ref": "PublicSubnetA"}
    assert props(tpl, "NatGatewayB")["SubnetId"] == {"Ref": "PublicSubnetB"}
    expected_target = {
        True: {"A": "NatGatewayA", "B": "NatGatewayB"},
        False: {"A": "NatGatewayA", "B": "NatGatewayA"},
    }
    for per_az, targets in expected_target.items():
        conditions = {NAT_PER_AZ: per_az}
        nats = {n for n in resources_of_type(tpl, "AWS::EC2::NatGateway") if _exists(tpl, n, conditions)}
        eips = {n for n in resources_of_type(tpl, "AWS::EC2::EIP") if _exists(tpl, n, conditions)}
        assert len(nats) == len(eips) == (2 if per_az else 1)
        for zone, nat in targets.items():
            route = _resolve(props(tpl, f"PrivateDefaultRoute{zone}"), conditions)
            assert route["DestinationCidrBlock"] == "0.0.0.0/0"
            assert route["NatGatewayId"] == {"Ref": nat}, f"per_az={per_az} zone {zone}"
            assert nat in nats, f"route {zone} points at {nat}, which does not exist when per_az={per_az}"


def test_nat_elastic_ips_are_vpc_addresses_allocated_after_the_gateway_attachment(
    tpl: dict[str, Any],
) -> None:
    for name, eip in resources_of_type(tpl, "AWS::EC2::EIP").items():
        assert eip["Properties"]["Domain"] == "vpc", name
        assert eip["DependsOn"] == "InternetGatewayAttachment", name
    assert props(tpl, "NatGatewayB")["AllocationId"] == {"Fn::GetAtt": ["NatEipB", "AllocationId"]}
    assert tpl["Resources"]["NatEipB"]["Condition"] == NAT_PER_AZ


def test_vpc_flow_logs_go_to_a_kms_encrypted_log_group_with_retention(tpl: dict[str, Any]) -> None:
    assert_partial(
        props(tpl, "VpcFlowLog"),
        {
            "ResourceId": {"Ref": "Vpc"},
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": "FlowLogGroup"},
            "DeliverLogsPermissionArn": {"Fn::GetAtt": ["FlowLogRole", "Arn"]},
        },
    )
    group = tpl["Resources"]["FlowLogGroup"]
    assert_partial(
        group["Properties"],
        {
            "LogGroupName": {"Fn::Sub": naming.FLOW_LOG_GROUP},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
            "KmsKeyId": KEY_ARN,
        },
    )
    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_flow_log_role_is_least_privilege(tpl: dict[str, Any]) -> None:
    role = props(tpl, "FlowLogRole")
    (trust,) = statements(role["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "RoleName" not in role
    granted: dict[str, list[Any]] = {}
    for policy in role["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            assert "*" not in as_list(statement["Resource"]), statement
            for action in as_list(statement["Action"]):
                assert "*" not in action, statement
                granted[action] = as_list(statement["Resource"])
    assert granted["logs:PutLogEvents"] == [{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]
    assert granted["logs:CreateLogStream"] == [{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]
    assert set(granted) <= {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
        "logs:DescribeLogGroups",
    }


def test_every_taggable_network_resource_has_the_four_tags(tpl: dict[str, Any]) -> None:
    network_types = ("AWS::EC2::", "AWS::Logs::LogGroup", "AWS::IAM::Role")
    checked = 0
    for name, res in tpl["Resources"].items():
        if res["Type"].startswith(network_types) and res["Type"] in taggable_types():
            assert set(TAG_KEYS) <= tag_keys(res), (
                f"{name} ({res['Type']}) lacks {set(TAG_KEYS) - tag_keys(res)}"
            )
            checked += 1
    assert checked >= 15


def test_network_tags_name_the_component(tpl: dict[str, Any]) -> None:
    for name in (*SUBNETS, "Vpc", "NatGatewayA", "FlowLogGroup", "VpcFlowLog"):
        tags = {t["Key"]: t["Value"] for t in props(tpl, name)["Tags"]}
        assert tags["Component"] == "network", name


def test_network_has_no_hard_coded_zone_region_or_account(tpl: dict[str, Any]) -> None:
    network_types = ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::Route", "AWS::EC2::NatGateway")
    resources = {k: v for k, v in tpl["Resources"].items() if v["Type"].startswith(network_types)}
    assert len(resources) >= 10
    text = json.dumps({i: resources[i].get("Properties") for i in sorted(resources)})
    assert not re.search(r"\b\d{12}\b", text)
    assert not re.search(r"\b[a-z]{2}-[a-z]+-\d[a-z]?\b", text), "a region or zone name is hard-coded"


NAMED_NETWORK_RESOURCES = {
    "Vpc": "vpc",
    "PublicSubnetA": "public-a",
    "PublicSubnetB": "public-b",
    "PrivateSubnetA": "private-a",
    "PrivateSubnetB": "private-b",
    "InternetGateway": "igw",
    "PublicRouteTable": "public",
    "PrivateRouteTableA": "private-a",
    "PrivateRouteTableB": "private-b",
    "NatEipA": "nat-a",
    "NatEipB": "nat-b",
    "NatGatewayA": "nat-a",
    "NatGatewayB": "nat-b",
}


def test_network_resources_carry_a_name_tag_for_the_console(tpl: dict[str, Any]) -> None:
    # The EC2 console lists VPCs, subnets, gateways, route tables and addresses by their Name tag; without it
    # the operations team sees only ids.
    for logical_id, label in NAMED_NETWORK_RESOURCES.items():
        tags = {t["Key"]: t["Value"] for t in props(tpl, logical_id)["Tags"]}
        assert tags.get("Name") == {"Fn::Sub": "tap-${EnvironmentSuffix}-" + label}, logical_id


def test_s3_gateway_endpoint_serves_both_private_route_tables(tpl: dict[str, Any]) -> None:
    """A gateway endpoint (AWS::EC2::VPCEndpoint, VpcEndpointType Gateway, com.amazonaws.<region>.s3) adds a
    route to S3's prefix list in the route tables it names, so the instances' S3 traffic (the Amazon Linux 2023
    repositories among it) bypasses the NAT gateways and their per-GB charge."""
    endpoint = props(tpl, "S3GatewayEndpoint")
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
    assert endpoint["VpcId"] == {"Ref": "Vpc"}
    assert endpoint["RouteTableIds"] == [{"Ref": "PrivateRouteTableA"}, {"Ref": "PrivateRouteTableB"}]

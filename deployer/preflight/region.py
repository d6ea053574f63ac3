"""Check 7, capacity: two or more available AZs, quota room for what the stack adds, the instance type offered.

Quotas come from Service Quotas; when it is denied or unreachable the documented defaults stand in, with a WARN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec.quotas import QUOTAS as QUOTA_TABLE
from cfnspec.quotas import Quota
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.facts import UNRESOLVED
from deployer.preflight.model import Finding, Status

AZS = "availability-zones"
QUOTAS = "quotas"
INSTANCE_TYPE = "instance-type"


def available_zones(ctx: PreflightContext) -> list[str]:
    """What Fn::GetAZs returns: the region's available zones, in name order."""
    answer = ctx.client("ec2").describe_availability_zones(
        Filters=[
            {"Name": "state", "Values": ["available"]},
            {"Name": "zone-type", "Values": ["availability-zone"]},
        ]
    )
    return sorted(z["ZoneName"] for z in answer.get("AvailabilityZones", []))


def _zones_needed(value: Any) -> int:
    """The highest Fn::Select index over Fn::GetAZs, plus one: how many zones the template spreads across."""
    if isinstance(value, Mapping):
        select = value.get("Fn::Select")
        here = 0
        if (
            isinstance(select, list)
            and len(select) == 2
            and isinstance(select[1], Mapping)
            and "Fn::GetAZs" in select[1]
        ):
            try:
                here = int(select[0]) + 1
            except (TypeError, ValueError):
                here = 0
        return max([here, *(_zones_needed(v) for v in value.values())])
    if isinstance(value, list):
        return max([0, *(_zones_needed(v) for v in value)])
    return 0


def check_availability_zones(ctx: PreflightContext) -> list[Finding]:
    needed = _zones_needed(ctx.facts.resources)
    if not needed:
        return []  # nothing to check: a check reports only on what the template has
    try:
        zones = ctx.facts.availability_zones()
    except AWS_ERRORS as err:
        return [could_not_check(AZS, "the Availability Zones", err, "ec2:DescribeAvailabilityZones")]
    if len(zones) < needed:
        return [
            Finding(
                AZS,
                Status.FAIL,
                f"{ctx.facts.region} has {len(zones)} available Availability Zone(s); "
                f"the template uses {needed}",
                fix="deploy to a region with more zones (--region)",
            )
        ]
    return [
        Finding(
            AZS,
            Status.PASS,
            f"{ctx.facts.region} has {len(zones)} available zones; the template uses "
            f"{', '.join(zones[:needed])}",
        )
    ]


def _quota_value(ctx: PreflightContext, quota: Quota) -> tuple[int, Finding | None]:
    try:
        value = ctx.client("service-quotas").get_service_quota(
            ServiceCode=quota.service, QuotaCode=quota.code
        )
        return int(value["Quota"]["Value"]), None
    except AWS_ERRORS as err:
        warn = could_not_check(QUOTAS, f"the quota {quota.name}", err, "servicequotas:GetServiceQuota")
        return quota.default, Finding(
            QUOTAS, Status.WARN, f"{warn.message}; using the default {quota.default}", fix=warn.fix
        )


def _in_use(ctx: PreflightContext, quota: Quota) -> int:
    ec2 = ctx.client("ec2")
    if quota.resource_type == "AWS::EC2::EIP":
        # DescribeAddresses has no paginator: it returns every address of the region in one answer.
        return sum(
            1 for a in ec2.describe_addresses().get("Addresses", []) if a.get("Domain", "vpc") == "vpc"
        )
    if quota.resource_type == "AWS::EC2::VPC":
        return sum(len(p.get("Vpcs", [])) for p in ec2.get_paginator("describe_vpcs").paginate())
    if quota.resource_type == "AWS::EC2::InternetGateway":
        pages = ec2.get_paginator("describe_internet_gateways").paginate()
        return sum(len(p.get("InternetGateways", [])) for p in pages)
    live = [{"Name": "state", "Values": ["pending", "available"]}]
    gateways = [
        g for p in ec2.get_paginator("describe_nat_gateways").paginate(Filters=live) for g in p["NatGateways"]
    ]
    subnets = sorted({g["SubnetId"] for g in gateways if g.get("SubnetId")})
    if not subnets:
        return 0
    pages = ec2.get_paginator("describe_subnets").paginate(SubnetIds=subnets)
    zone_of = {s["SubnetId"]: s["AvailabilityZone"] for p in pages for s in p.get("Subnets", [])}
    per_zone: dict[str, int] = {}
    for g in gateways:
        zone = zone_of.get(g.get("SubnetId", ""), "?")
        per_zone[zone] = per_zone.get(zone, 0) + 1
    return max(per_zone.values(), default=0)


def check_quotas(ctx: PreflightContext) -> list[Finding]:
    adds = {q: sum(1 for _ in ctx.facts.active(q.resource_type)) for q in QUOTA_TABLE}
    adds = {q: n for q, n in adds.items() if n}
    if not adds:
        return []
    findings, fine = [], []
    for quota, count in adds.items():
        # The stack puts at most one NAT gateway in each zone; the others spread across zones.
        adding = min(count, 1) if quota.per_az else count
        limit, warn = _quota_value(ctx, quota)
        if warn:
            findings.append(warn)
        try:
            used = _in_use(ctx, quota)
        except AWS_ERRORS as err:
            findings.append(could_not_check(QUOTAS, f"the {quota.name} in use", err, "ec2:Describe*"))
            continue
        if used + adding > limit:
            findings.append(
                Finding(
                    QUOTAS,
                    Status.FAIL,
                    f"{quota.name}: {used} in use + {adding} for this stack > quota {limit}",
                    fix=f"release unused ones, or: aws service-quotas request-service-quota-increase --service-code "
                    f"{quota.service} --quota-code {quota.code} --desired-value {used + adding}",
                )
            )
        else:
            fine.append(f"{quota.name} {used}+{adding}/{limit}")
    if fine:
        findings.append(Finding(QUOTAS, Status.PASS, "room left: " + "; ".join(fine)))
    return findings


def _group_zones(ctx: PreflightContext) -> list[str]:
    facts = ctx.facts
    zones: list[str] = []
    for _, group in facts.active("AWS::AutoScaling::AutoScalingGroup"):
        value = facts.resolve(facts.properties(group).get("AvailabilityZones"))
        if isinstance(value, list):
            zones += [z for z in value if isinstance(z, str)]
    return sorted(set(zones))


def check_instance_type(ctx: PreflightContext) -> list[Finding]:
    facts = ctx.facts
    types = set()
    for _, resource in facts.active("AWS::EC2::LaunchTemplate", "AWS::EC2::Instance"):
        props = facts.properties(resource)
        data = props.get("LaunchTemplateData", props)
        value = facts.resolve(data.get("InstanceType")) if isinstance(data, Mapping) else None
        if isinstance(value, str) and value is not UNRESOLVED:
            types.add(value)
    if not types:
        return []
    try:
        zones = _group_zones(ctx) or ctx.facts.availability_zones()[:2]
        pages = (
            ctx.client("ec2")
            .get_paginator("describe_instance_type_offerings")
            .paginate(
                LocationType="availability-zone",
                Filters=[
                    {"Name": "instance-type", "Values": sorted(types)},
                    {"Name": "location", "Values": zones},
                ],
            )
        )
        offered = {
            (o["InstanceType"], o["Location"]) for p in pages for o in p.get("InstanceTypeOfferings", [])
        }
    except AWS_ERRORS as err:
        return [
            could_not_check(
                INSTANCE_TYPE, "instance type offerings", err, "ec2:DescribeInstanceTypeOfferings"
            )
        ]
    missing = sorted(f"{t} in {z}" for t in types for z in zones if (t, z) not in offered)
    if missing:
        return [
            Finding(
                INSTANCE_TYPE,
                Status.FAIL,
                f"not offered: {', '.join(missing)}",
                fix="choose an InstanceType offered in both zones: aws ec2 describe-instance-type-offerings "
                f"--location-type availability-zone --filters Name=location,Values={','.join(zones)}",
            )
        ]
    return [Finding(INSTANCE_TYPE, Status.PASS, f"{', '.join(sorted(types))} offered in {', '.join(zones)}")]

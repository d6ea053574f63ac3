"""Monthly cost drivers of a stack at its parameter defaults, from one table of published prices.

The prices are the on-demand list prices on the AWS pricing pages for us-east-1; every figure on the page is a
count read from the template times a price from PRICES, so a template change moves the figures with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cfnspec.limits import DEFAULT_REGION
from cfnspec.resolve import Scope
from generator import cost_counts, defaults
from generator.markdown import code, table

Template = Mapping[str, Any]
# The prices below were read for this region; re-read them if it changes.
PRICES_REGION = DEFAULT_REGION
PRICES_READ = "2025-06-01"
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


PRICES: dict[str, Price] = {
    "nat-gateway-hour": Price(0.045, "per NAT gateway-hour", "https://aws.amazon.com/vpc/pricing/"),
    "nat-gateway-gb": Price(0.045, "per GB processed", "https://aws.amazon.com/vpc/pricing/"),
    "public-ipv4-hour": Price(0.005, "per public IPv4 address-hour", "https://aws.amazon.com/vpc/pricing/"),
    "alb-hour": Price(
        0.0225, "per load balancer-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/"
    ),
    "alb-lcu-hour": Price(0.008, "per LCU-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/"),
    "ec2-t3.micro-hour": Price(
        0.0104, "per instance-hour (Linux)", "https://aws.amazon.com/ec2/pricing/on-demand/"
    ),
    "ebs-gp3-gb-month": Price(0.08, "per GB-month", "https://aws.amazon.com/ebs/pricing/"),
    "kms-key-month": Price(1.0, "per customer managed key-month", "https://aws.amazon.com/kms/pricing/"),
    "cloudfront-gb": Price(
        0.085,
        "per GB to the internet (first 10 TB, North America)",
        "https://aws.amazon.com/cloudfront/pricing/",
    ),
    "ec2-detailed-monitoring-month": Price(
        2.10, "per instance-month (7 metrics at $0.30)", "https://aws.amazon.com/cloudwatch/pricing/"
    ),
    "cloudwatch-metric-month": Price(
        0.30, "per custom metric-month (first 10,000)", "https://aws.amazon.com/cloudwatch/pricing/"
    ),
    "cloudwatch-alarm-month": Price(
        0.10, "per standard-resolution alarm metric-month", "https://aws.amazon.com/cloudwatch/pricing/"
    ),
    "cloudwatch-dashboard-month": Price(
        3.0,
        "per dashboard-month (the account's first 3 are free)",
        "https://aws.amazon.com/cloudwatch/pricing/",
    ),
    "vended-logs-gb": Price(
        0.50, "per GB ingested (vended logs, first 10 TB)", "https://aws.amazon.com/cloudwatch/pricing/"
    ),
    "s3-gateway-endpoint": Price(
        0.0, "no charge for gateway endpoints", "https://aws.amazon.com/vpc/pricing/"
    ),
}
# An example volume for the saving of the S3 gateway endpoint: what the NAT gateways no longer process.
EXAMPLE_S3_GB_PER_MONTH = 100


@dataclass(frozen=True)
class Driver:
    what: str
    count: int
    price_key: str
    monthly: float  # USD at the defaults; 0 for a driver billed only by use


def _launch_template_data(t: Template) -> Mapping[str, Any]:
    for r in t.get("Resources", {}).values():
        if r.get("Type") == "AWS::EC2::LaunchTemplate":
            data: Mapping[str, Any] = r.get("Properties", {}).get("LaunchTemplateData", {})
            return data
    return {}


def _instances(t: Template, at: Scope) -> int:
    """Instances running at the defaults: the group's desired capacity, or its minimum when it sets none."""
    total = 0
    for r in t.get("Resources", {}).values():
        if r.get("Type") == "AWS::AutoScaling::AutoScalingGroup" and defaults.exists(r, at):
            props = r.get("Properties", {})
            size = props.get("DesiredCapacity", props.get("MinSize", 0))
            total += int(defaults.resolve(size, at))
    return total


def _volume_gb(t: Template, at: Scope) -> int:
    gb = 0
    for mapping in _launch_template_data(t).get("BlockDeviceMappings", []):
        gb += int(defaults.resolve(mapping.get("Ebs", {}).get("VolumeSize", 0), at))
    return gb


def _price(key: str) -> Price:
    if key not in PRICES:
        raise KeyError(f"no price for {key!r}: add it to PRICES in generator/costs.py with its source")
    return PRICES[key]


def _monthly(count: int, key: str, hourly: bool = False) -> Driver:
    """A driver billed per unit and month (or per unit-hour when hourly)."""
    return Driver("", count, key, count * _price(key).usd * (HOURS_PER_MONTH if hourly else 1))


def _named(what: str, driver: Driver) -> Driver:
    return Driver(what, driver.count, driver.price_key, driver.monthly)


def drivers(t: Template, **overrides: str) -> list[Driver]:
    at = defaults.scope(t, **overrides)
    nat = defaults.count(t, "AWS::EC2::NatGateway", at)
    eips = defaults.count(t, "AWS::EC2::EIP", at)
    albs = defaults.count(t, "AWS::ElasticLoadBalancingV2::LoadBalancer", at)
    instances = _instances(t, at)
    launch_data = _launch_template_data(t)
    instance_type = defaults.resolve(launch_data.get("InstanceType"), at)
    keys = defaults.count(t, "AWS::KMS::Key", at)
    volume = _volume_gb(t, at) * instances
    monitored = instances if cost_counts.detailed_monitoring(launch_data) else 0
    found = [
        _named("NAT gateways", _monthly(nat, "nat-gateway-hour", hourly=True)),
        _named("Elastic IPs (public IPv4)", _monthly(eips, "public-ipv4-hour", hourly=True)),
        _named("Application Load Balancer", _monthly(albs, "alb-hour", hourly=True)),
        _named(
            "Load balancer public IPv4 addresses (one per zone)",
            _monthly(cost_counts.alb_public_ipv4(t, at), "public-ipv4-hour", hourly=True),
        ),
        _named("gp3 root volumes (GB)", _monthly(volume, "ebs-gp3-gb-month")),
        _named("KMS keys", _monthly(keys, "kms-key-month")),
        _named("EC2 detailed monitoring (instances)", _monthly(monitored, "ec2-detailed-monitoring-month")),
        _named(
            "CloudWatch agent metrics (memory, disk)",
            _monthly(cost_counts.agent_metrics(launch_data, instances), "cloudwatch-metric-month"),
        ),
        _named("CloudWatch alarms", _monthly(cost_counts.alarms(t, at), "cloudwatch-alarm-month")),
        _named(
            "CloudWatch dashboards", _monthly(cost_counts.dashboards(t, at), "cloudwatch-dashboard-month")
        ),
        _named(
            "S3 gateway endpoints",
            _monthly(cost_counts.s3_gateway_endpoints(t, at), "s3-gateway-endpoint"),
        ),
    ]
    found = [d for d in found if d.count]
    if instances and isinstance(instance_type, str):
        key = f"ec2-{instance_type}-hour"
        found.append(_named(f"{instance_type} instances", _monthly(instances, key, hourly=True)))
    if cost_counts.flow_logs_to_cloudwatch(t, at):
        found.append(Driver("VPC flow log ingestion (CloudWatch Logs)", 0, "vended-logs-gb", 0.0))
    if defaults.count(t, "AWS::CloudFront::Distribution", at):
        found.append(Driver("CloudFront data out", 0, "cloudfront-gb", 0.0))
    return found


def total(found: list[Driver]) -> float:
    return round(sum(d.monthly for d in found), 2)


def _nat_mode_parameter(t: Template) -> tuple[str, str] | None:
    """The parameter and value that leave a single NAT gateway, if the template has such a switch."""
    for name, spec in t.get("Parameters", {}).items():
        if "single" in [str(v) for v in spec.get("AllowedValues", [])] and "Nat" in name:
            return name, "single"
    return None


def _monthly_cell(d: Driver) -> str:
    if d.monthly:
        return f"${d.monthly:,.2f}"
    return "$0.00" if d.count else "by use"


def _endpoint_saving(at_defaults: list[Driver]) -> list[str]:
    if not any(d.price_key == "s3-gateway-endpoint" for d in at_defaults):
        return []
    nat_gb = _price("nat-gateway-gb").usd
    return [
        "The S3 gateway endpoint takes the private subnets' S3 traffic past the NAT gateways, the Amazon Linux "
        "2023 package repositories (served from S3) included, so none of it pays the NAT data processing "
        f"charge (${nat_gb:g} {_price('nat-gateway-gb').unit}): "
        f"{EXAMPLE_S3_GB_PER_MONTH} GB of S3 traffic a month saves ${EXAMPLE_S3_GB_PER_MONTH * nat_gb:,.2f}, "
        "and the endpoint itself costs nothing.",
        "",
    ]


def cost_section(t: Template) -> list[str]:
    at_defaults = drivers(t)
    rows = [
        [
            d.what,
            str(d.count) if d.count else "by use",
            f"${_price(d.price_key).usd:g} {_price(d.price_key).unit}" if _price(d.price_key).usd else "free",
            _monthly_cell(d),
        ]
        for d in at_defaults
    ]
    lines = [
        "## Monthly cost at the defaults",
        "",
        f"The fixed monthly charges of the stack with every parameter at its default, in {PRICES_REGION}, "
        f"at {HOURS_PER_MONTH} hours a month, from the on-demand prices on the AWS pricing pages as read on "
        f"{PRICES_READ} (re-check them before you budget; other regions differ). Traffic is extra: "
        f"NAT gateway data ${_price('nat-gateway-gb').usd:g} {_price('nat-gateway-gb').unit}, ALB "
        f"${_price('alb-lcu-hour').usd:g} {_price('alb-lcu-hour').unit}, CloudFront "
        f"${_price('cloudfront-gb').usd:g} {_price('cloudfront-gb').unit}, flow logs "
        f"${_price('vended-logs-gb').usd:g} {_price('vended-logs-gb').unit}. CloudWatch's free tier (10 "
        "custom or detailed-monitoring metrics, 10 alarms, 3 dashboards per account) is not deducted.",
        "",
        *table(["Driver", "Count", "Price", "Per month (USD)"], rows),
        "",
        f"Total fixed: about ${total(at_defaults):,.2f} a month.",
        "",
    ]
    switch = _nat_mode_parameter(t)
    nat = sum(d.count for d in at_defaults if d.price_key == "nat-gateway-hour")
    if switch and nat > 1:
        single = drivers(t, **{switch[0]: switch[1]})
        saving = round(total(at_defaults) - total(single), 2)
        lines += [
            f"With {code(switch[0])} = {code(switch[1])} the stack runs one NAT gateway instead of "
            f"{nat}: about ${total(single):,.2f} a month, a saving of ${saving:,.2f}, at the "
            "price of losing private-subnet egress when that zone fails.",
            "",
        ]
    lines += _endpoint_saving(at_defaults)
    sources = sorted({p.source for p in PRICES.values()})
    lines += ["Sources: " + ", ".join(f"<{s}>" for s in sources) + ".", ""]
    return lines

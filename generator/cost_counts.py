"""Counts of the cost drivers the template sets up beyond its compute and network resources: the load balancer's
public addresses, CloudWatch metrics, alarms and dashboards, flow logs and gateway endpoints, each read from the
template at given parameter values."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cfnspec.resolve import Scope
from generator import defaults

Template = Mapping[str, Any]
# The here-documents of a boot script: the CloudWatch agent's configuration is one of them.
HEREDOC = re.compile(r"<<\s*'?(\w+)'?\n(.*?)\n\1\n", re.S)


def _existing(t: Template, resource_type: str, at: Scope) -> list[Mapping[str, Any]]:
    return [
        r
        for r in t.get("Resources", {}).values()
        if r.get("Type") == resource_type and defaults.exists(r, at)
    ]


def alb_public_ipv4(t: Template, at: Scope) -> int:
    """An internet-facing load balancer holds a public IPv4 address in each of its subnets (one per zone)."""
    total = 0
    for r in _existing(t, "AWS::ElasticLoadBalancingV2::LoadBalancer", at):
        props = r.get("Properties", {})
        if props.get("Scheme", "internet-facing") == "internet-facing":
            subnets = props.get("Subnets") or props.get("SubnetMappings") or []
            total += len(subnets) if isinstance(subnets, list) else 0
    return total


def _user_data_text(launch_data: Mapping[str, Any]) -> str:
    value: Any = launch_data.get("UserData", "")
    if isinstance(value, dict) and "Fn::Base64" in value:
        value = value["Fn::Base64"]
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    if isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else ""


def agent_metrics(launch_data: Mapping[str, Any], instances: int) -> int:
    """Custom metrics the CloudWatch agent publishes: each measurement once per instance (its InstanceId
    dimension) and once per aggregation dimension set."""
    for _, body in HEREDOC.findall(_user_data_text(launch_data)):
        try:
            config = json.loads(body)
        except ValueError:
            continue
        metrics = config.get("metrics") if isinstance(config, dict) else None
        if not isinstance(metrics, dict):
            continue
        measured = sum(len(m.get("measurement", [])) for m in metrics.get("metrics_collected", {}).values())
        return measured * (instances + len(metrics.get("aggregation_dimensions", [])))
    return 0


def detailed_monitoring(launch_data: Mapping[str, Any]) -> bool:
    return (launch_data.get("Monitoring") or {}).get("Enabled") is True


def alarms(t: Template, at: Scope) -> int:
    return len(_existing(t, "AWS::CloudWatch::Alarm", at))


def dashboards(t: Template, at: Scope) -> int:
    return len(_existing(t, "AWS::CloudWatch::Dashboard", at))


def flow_logs_to_cloudwatch(t: Template, at: Scope) -> int:
    return sum(
        1
        for r in _existing(t, "AWS::EC2::FlowLog", at)
        if r.get("Properties", {}).get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs"
    )


def s3_gateway_endpoints(t: Template, at: Scope) -> int:
    found = 0
    for r in _existing(t, "AWS::EC2::VPCEndpoint", at):
        props = r.get("Properties", {})
        service = props.get("ServiceName", "")
        if isinstance(service, dict):  # com.amazonaws.${AWS::Region}.s3 as a Fn::Sub
            service = service.get("Fn::Sub", "")
        if props.get("VpcEndpointType", "Gateway") == "Gateway" and str(service).endswith(".s3"):
            found += 1
    return found

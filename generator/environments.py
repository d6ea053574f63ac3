"""Sample environments: the values the example parameter files use for each, as data.

A value applies to every registered template that has a parameter of that name; anything not listed stays at
the template's default. Values are strings, as in a template-configuration file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cfnspec.limits import DEFAULT_REGION
from cfnspec.parameters import PLACEHOLDER_MARK

# Carries the placeholder mark, so generate.py lists it and deploy.py refuses it until a real certificate ARN
# takes its place. Its upper-case id also fails the template's CertificateArn pattern (ACM ids are lower-case
# hexadecimal), so CloudFormation refuses it too when the change set is made, whichever tool sends it.
CERTIFICATE_PLACEHOLDER = (
    f"arn:aws:acm:{DEFAULT_REGION}:111122223333:certificate/{PLACEHOLDER_MARK}YOUR-CERTIFICATE-ID"
)


@dataclass(frozen=True)
class Environment:
    name: str
    purpose: str
    parameters: Mapping[str, str]
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Values a team must replace before use (e.g. their own certificate), shown on the hand-off page.
    to_fill_in: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


DEV = Environment(
    name="dev",
    purpose="Development: lowest cost that still runs two instances in two Availability Zones.",
    parameters=MappingProxyType(
        {
            "EnvironmentSuffix": "dev",
            "NatGatewayMode": "single",
            "InstanceType": "t3.micro",
            "MinSize": "2",
            "MaxSize": "3",
            "LoadBalancerDeletionProtection": "false",
            "LogRetentionDays": "30",
        }
    ),
    tags=MappingProxyType({"Environment": "dev"}),
)

PROD = Environment(
    name="prod",
    purpose="Production: HTTPS required, a NAT gateway per zone, larger instances, more headroom, longer log "
    "retention.",
    parameters=MappingProxyType(
        {
            "EnvironmentSuffix": "prod",
            "NatGatewayMode": "per-az",
            "InstanceType": "t3.medium",
            "MinSize": "4",
            "MaxSize": "10",
            "CpuTargetUtilization": "60",
            "LoadBalancerDeletionProtection": "true",
            "RequireHttps": "true",
            "CertificateArn": CERTIFICATE_PLACEHOLDER,
            "LogRetentionDays": "365",
            "AlarmEmail": "ops-alerts@example.com",
        }
    ),
    tags=MappingProxyType({"Environment": "prod"}),
    to_fill_in=MappingProxyType(
        {
            "AlarmEmail": "the address that should receive alarms (example.com is a placeholder)",
            "CertificateArn": "the ARN of your ACM certificate in the stack's region, in place of the "
            f"placeholder `{CERTIFICATE_PLACEHOLDER}`: production serves HTTPS only, and deploy.py "
            "and CloudFormation (the parameter's pattern) refuse the placeholder",
            "RequireHttps": "`true` (already set): the template then refuses to create or update the stack "
            "without a CertificateArn, so a production stack never serves plain HTTP",
        }
    ),
)

ENVIRONMENTS: tuple[Environment, ...] = (DEV, PROD)

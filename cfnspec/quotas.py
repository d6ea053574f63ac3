"""The regional quotas a stack's resources consume: Service Quotas codes, official names and documented defaults.

Read by preflight (which compares them with what is in use) and by the hand-off page (which prints the commands
that read them), so both name the same quotas.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    resource_type: str
    service: str  # Service Quotas service code
    code: str  # Service Quotas quota code
    name: str  # the quota's name in Service Quotas
    default: int  # the documented default, used when Service Quotas cannot be read
    per_az: bool = False  # counted per Availability Zone, not per Region


QUOTAS = (
    Quota("AWS::EC2::EIP", "ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5),
    Quota("AWS::EC2::NatGateway", "vpc", "L-FE5A380F", "NAT gateways per Availability Zone", 5, per_az=True),
    Quota("AWS::EC2::VPC", "vpc", "L-F678F1CE", "VPCs per Region", 5),
    Quota("AWS::EC2::InternetGateway", "vpc", "L-A4707A72", "Internet gateways per Region", 5),
)

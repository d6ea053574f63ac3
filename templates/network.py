"""VPC, subnets in two Availability Zones, internet and NAT gateways, route tables, VPC flow logs."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import AWSHelperFn, Ref, Template

from templates.parameters import StackParameters, add_parameters
from templates.security import Encryption, add_encryption


@dataclass(frozen=True)
class Network:
    vpc: Ref
    availability_zones: tuple[AWSHelperFn, ...]
    public_subnets: tuple[Ref, ...]
    private_subnets: tuple[Ref, ...]


def add_network(t: Template, p: StackParameters | None = None, enc: Encryption | None = None) -> Network:
    p = p or add_parameters(t)
    enc = enc or add_encryption(t, p)
    raise NotImplementedError

"""Launch template, Auto Scaling group across two Availability Zones, and target tracking scaling policies."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Ref, Template

from templates.load_balancer import LoadBalancer
from templates.monitoring import LogGroups
from templates.network import Network
from templates.parameters import StackParameters
from templates.security import Encryption, Security


@dataclass(frozen=True)
class Fleet:
    auto_scaling_group: Ref
    launch_template: Ref


def add_compute(
    t: Template,
    p: StackParameters | None = None,
    net: Network | None = None,
    enc: Encryption | None = None,
    sec: Security | None = None,
    lb: LoadBalancer | None = None,
    logs: LogGroups | None = None,
) -> Fleet:
    raise NotImplementedError

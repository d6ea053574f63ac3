"""Internet-facing Application Load Balancer, target group and listeners (HTTPS when a certificate is given)."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import AWSHelperFn, GetAtt, Ref, Template

from templates.network import Network
from templates.parameters import StackParameters
from templates.security import Security
from templates.storage import Storage


@dataclass(frozen=True)
class LoadBalancer:
    load_balancer: Ref
    dns_name: GetAtt
    url: AWSHelperFn
    full_name: GetAtt  # LoadBalancerFullName, e.g. app/tap-dev-alb/50dc6c495c0c9188
    target_group: Ref
    target_group_full_name: GetAtt  # TargetGroupFullName, e.g. targetgroup/tap-dev-web/73e2d6bc24d8a067
    listeners_ready: str  # logical id to DependsOn: exists once the target group is attached to the ALB


def add_load_balancer(
    t: Template,
    p: StackParameters | None = None,
    net: Network | None = None,
    sec: Security | None = None,
    site: Storage | None = None,
) -> LoadBalancer:
    raise NotImplementedError

"""Application log groups, the alarm topic, CloudWatch alarms and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from troposphere import Ref, Template

from templates.parameters import StackParameters
from templates.security import Encryption

if TYPE_CHECKING:
    from templates.compute import Fleet
    from templates.load_balancer import LoadBalancer


@dataclass(frozen=True)
class LogGroups:
    application: Ref
    access: Ref


@dataclass(frozen=True)
class Monitoring:
    alarm_topic: Ref


def add_log_groups(t: Template, p: StackParameters | None = None, enc: Encryption | None = None) -> LogGroups:
    raise NotImplementedError


def add_monitoring(
    t: Template,
    p: StackParameters | None = None,
    enc: Encryption | None = None,
    lb: LoadBalancer | None = None,
    fleet: Fleet | None = None,
) -> Monitoring:
    raise NotImplementedError

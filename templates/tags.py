"""The tags every taggable resource carries: Environment, Component, Project and the CostCenter cost-allocation tag."""

from __future__ import annotations

from troposphere import Tags, autoscaling

from templates.parameters import StackParameters

TAG_KEYS = ("Environment", "Component", "Project", "CostCenter")


def _pairs(p: StackParameters, component: str) -> list[tuple[str, object]]:
    return [
        ("Environment", p.environment_suffix),
        ("Component", component),
        ("Project", p.project_name),
        ("CostCenter", p.cost_center),
    ]


def tags(p: StackParameters, component: str, **extra: object) -> Tags:
    """Tags for a resource whose Tags property is a list of Key/Value pairs."""
    return Tags(dict(_pairs(p, component))) + Tags(**extra) if extra else Tags(dict(_pairs(p, component)))


def tag_map(p: StackParameters, component: str) -> dict[str, object]:
    """Tags for a resource whose Tags property is a JSON object (e.g. SSM parameters)."""
    return dict(_pairs(p, component))


def asg_tags(p: StackParameters, component: str) -> list[autoscaling.Tag]:
    """Auto Scaling group tags, propagated to the instances it launches."""
    return [autoscaling.Tag(k, v, True) for k, v in _pairs(p, component)]

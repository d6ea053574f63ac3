"""Which newer CloudFormation API members the installed botocore knows, read from its service model.

Every use of an API member added after the project's botocore lower bound asks here first, so an old botocore
gives a clear message (or a documented fallback) instead of a ParamValidationError in the middle of a deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import botocore
import botocore.session
from botocore.model import ServiceModel

from deployer.errors import BadInput


@dataclass(frozen=True)
class Feature:
    """An operation, or one input member of an operation, and what it is for (for messages)."""

    operation: str
    member: str | None
    purpose: str

    @property
    def label(self) -> str:
        return f"{self.operation}.{self.member}" if self.member else self.operation


ON_STACK_FAILURE = Feature("CreateChangeSet", "OnStackFailure", "--on-failure for stacks being created")
DEPLOYMENT_MODE = Feature("CreateChangeSet", "DeploymentMode", "--revert-drift")
DESCRIBE_EVENTS = Feature("DescribeEvents", None, "CloudFormation's validation findings for change sets")


@cache
def _model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("cloudformation")


def supported(feature: Feature) -> bool:
    model = _model()
    if feature.operation not in model.operation_names:
        return False
    if feature.member is None:
        return True
    shape = model.operation_model(feature.operation).input_shape
    return shape is not None and feature.member in shape.members


def require(feature: Feature) -> None:
    """Raise BadInput (before any AWS call) when the installed botocore is too old for `feature`."""
    if not supported(feature):
        raise BadInput(
            f"the installed botocore {botocore.__version__} does not know {feature.label}, needed for "
            f"{feature.purpose}",
            hint="upgrade it: pip install --upgrade boto3 botocore",
        )

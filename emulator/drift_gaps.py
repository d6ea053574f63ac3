"""Drift detection, which moto (5.2) does not implement (HTTP 500, so deploy.py drift retried and gave up).

DetectStackDrift compares, for the stack's main resource types, what the template says (resolved with the
stack's parameters, emulator.resolved) with what the emulated service holds; a resource that no longer exists
is DELETED. Like AWS, a type without drift support here is NOT_CHECKED and does not make the stack DRIFTED.
Detection finishes at once (DETECTION_COMPLETE); DescribeStackResourceDrifts answers from the latest detection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from moto.autoscaling.models import autoscaling_backends
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

from cfnspec.resolve import contains_unresolved
from emulator.changeset_gaps import deployed_state

# What a checker returns: the resource's actual values of the properties it compares, or None if it is gone.
Actual = dict[str, Any] | None
Checker = Callable[[Stack, str], Actual]


def _log_group(stack: Stack, physical_id: str) -> Actual:
    group = logs_backends[stack.account_id][stack.region_name].groups.get(physical_id)
    return None if group is None else {"LogGroupName": group.name, "RetentionInDays": group.retention_in_days}


def _auto_scaling_group(stack: Stack, physical_id: str) -> Actual:
    groups = autoscaling_backends[stack.account_id][stack.region_name].autoscaling_groups
    group = groups.get(physical_id)
    if group is None:
        return None
    return {"MinSize": group.min_size, "MaxSize": group.max_size, "DesiredCapacity": group.desired_capacity}


def _topic(stack: Stack, physical_id: str) -> Actual:
    topic = sns_backends[stack.account_id][stack.region_name].topics.get(physical_id)
    return None if topic is None else {"DisplayName": topic.display_name}


def _bucket(stack: Stack, physical_id: str) -> Actual:
    buckets = s3_backends[stack.account_id][get_partition(stack.region_name)].buckets
    return {} if physical_id in buckets else None


def _security_group(stack: Stack, physical_id: str) -> Actual:
    group = ec2_backends[stack.account_id][stack.region_name].get_security_group_from_id(physical_id)
    return None if group is None else {"GroupDescription": group.description}


def _vpc(stack: Stack, physical_id: str) -> Actual:
    vpc = ec2_backends[stack.account_id][stack.region_name].vpcs.get(physical_id)
    return None if vpc is None else {"CidrBlock": vpc.cidr_block}


CHECKERS: dict[str, Checker] = {
    "AWS::Logs::LogGroup": _log_group,
    "AWS::AutoScaling::AutoScalingGroup": _auto_scaling_group,
    "AWS::SNS::Topic": _topic,
    "AWS::S3::Bucket": _bucket,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::EC2::VPC": _vpc,
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[dict[str, str]]:
    """Only properties the template sets and the checker reads; numbers compare by their text, as CloudFormation
    documents a template's "5" and the service's 5 as the same value."""
    found = []
    for name, value in actual.items():
        wanted = expected.get(name)
        if wanted is None or contains_unresolved(wanted) or str(wanted) == str(value):
            continue
        found.append(
            {
                "PropertyPath": f"/{name}",
                "ExpectedValue": _text(wanted),
                "ActualValue": "null" if value is None else _text(value),
                "DifferenceType": "NOT_EQUAL" if value is not None else "REMOVE",
            }
        )
    return found


def _resource_drift(stack: Stack, logical_id: str, resource: Mapping[str, Any], now: Any) -> dict[str, Any]:
    rtype = str(resource.get("Type", ""))
    built = stack.resource_map._parsed_resources.get(logical_id)
    physical = str(getattr(built, "physical_resource_id", "") or "")
    drift: dict[str, Any] = {
        "StackId": stack.stack_id,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical,
        "ResourceType": rtype,
        "Timestamp": now,
        "StackResourceDriftStatus": "NOT_CHECKED",
    }
    checker = CHECKERS.get(rtype)
    if checker is None or not physical:
        return drift
    expected = dict(resource.get("Properties") or {})
    actual = checker(stack, physical)
    if actual is None:
        drift.update(StackResourceDriftStatus="DELETED", ExpectedProperties=json.dumps(expected))
        return drift
    differences = _differences(expected, actual)
    drift.update(
        StackResourceDriftStatus="MODIFIED" if differences else "IN_SYNC",
        ExpectedProperties=json.dumps({k: expected[k] for k in actual if k in expected}),
        ActualProperties=json.dumps(actual),
        PropertyDifferences=differences,
    )
    return drift


def _store(backend: CloudFormationBackend) -> dict[str, Any]:
    # Kept on the backend, so moto's reset (which rebuilds every backend) forgets it with everything else.
    store: dict[str, Any] = backend.__dict__.setdefault("emulator_drift", {"detections": {}, "latest": {}})
    return store


def detect_stack_drift(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    now = utcnow()
    state = deployed_state(stack)
    drifts = [_resource_drift(stack, lid, res, now) for lid, res in state.resources.items()]
    drifted = sum(d["StackResourceDriftStatus"] in ("MODIFIED", "DELETED") for d in drifts)
    detection_id = str(uuid.uuid4())
    store = _store(self.cloudformation_backend)
    store["latest"][stack.stack_id] = drifts
    store["detections"][detection_id] = {
        "StackId": stack.stack_id,
        "StackDriftDetectionId": detection_id,
        "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC",
        "DetectionStatus": "DETECTION_COMPLETE",
        "DriftedStackResourceCount": drifted,
        "Timestamp": now,
    }
    return ActionResult({"StackDriftDetectionId": detection_id})


def describe_stack_drift_detection_status(self: CloudFormationResponse) -> ActionResult:
    detection_id = self._get_param("StackDriftDetectionId")
    found = _store(self.cloudformation_backend)["detections"].get(detection_id)
    if found is None:
        raise ValidationError(detection_id, message=f"Drift detection [{detection_id}] does not exist")
    return ActionResult(found)


def describe_stack_resource_drifts(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    wanted = set(self._get_param("StackResourceDriftStatusFilters") or [])
    drifts = _store(self.cloudformation_backend)["latest"].get(stack.stack_id, [])
    listed = [d for d in drifts if not wanted or d["StackResourceDriftStatus"] in wanted]
    return ActionResult({"StackResourceDrifts": listed})


def patches() -> list[tuple[Any, str, Any]]:
    return [
        (CloudFormationResponse, "detect_stack_drift", detect_stack_drift),
        (
            CloudFormationResponse,
            "describe_stack_drift_detection_status",
            describe_stack_drift_detection_status,
        ),
        (CloudFormationResponse, "describe_stack_resource_drifts", describe_stack_resource_drifts),
    ]

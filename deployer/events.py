"""Stack events: the poll schedule, an incremental event reader, and the root cause of a failure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cfnspec.capabilities import CAPABILITIES

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

DEFAULT_FIRST_INTERVAL = 1.0
DEFAULT_MAX_INTERVAL = 5.0
POLL_FRACTION = 10.0
# The cascade CloudFormation writes after the real failure: every sibling still in progress gets cancelled.
_CANCELLED = ("resource creation cancelled", "resource update cancelled", "resource deletion cancelled")
# Statuses of the stack itself that start an operation (used to find where the current operation began).
OPERATION_STARTS = frozenset(
    {"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "IMPORT_IN_PROGRESS"}
)

Event = Mapping[str, Any]


def poll_interval(
    waited: float, first: float = DEFAULT_FIRST_INTERVAL, cap: float = DEFAULT_MAX_INTERVAL
) -> float:
    """Seconds to sleep before the next poll, after `waited` seconds of waiting: a tenth of it, within [first, cap].

    The chance that an operation ends in the next second falls as it runs: a 20 s update is polled every second
    or two (it ends within ~2 s of the poll that sees it), a 30-minute create every `cap` seconds. Growing with
    the time waited rather than with the number of polls keeps throttling back-offs from stretching the schedule.
    """
    return min(cap, max(first, waited / POLL_FRACTION))


def is_stack_event(event: Event, stack_id: str) -> bool:
    return (
        event.get("PhysicalResourceId") == stack_id
        and event.get("ResourceType") == "AWS::CloudFormation::Stack"
    )


class EventReader:
    """Reads only events newer than the last one seen: stops paging as soon as it reaches that event.

    DescribeStackEvents returns newest first, so a tick usually costs one call however long the history is.
    """

    def __init__(self, cfn: CloudFormationClient, stack_id: str) -> None:
        self._cfn = cfn
        self.stack_id = stack_id
        self.last_seen: str | None = None
        self.pages_read = 0

    def prime(self) -> None:
        """Remember the newest existing event, so the next read starts after it (one call)."""
        for page in self._cfn.get_paginator("describe_stack_events").paginate(StackName=self.stack_id):
            self.pages_read += 1
            events = page.get("StackEvents", [])
            self.last_seen = events[0]["EventId"] if events else None
            return

    def new_events(self) -> list[Event]:
        """Events since the last call, oldest first."""
        fresh: list[Event] = []
        found = False
        # With no event seen yet (the stack had none when primed), every page is new: read them all.
        for page in self._cfn.get_paginator("describe_stack_events").paginate(StackName=self.stack_id):
            self.pages_read += 1
            for event in page.get("StackEvents", []):
                if self.last_seen is not None and event["EventId"] == self.last_seen:
                    found = True
                    break
                fresh.append(event)
            if found:
                break
        if fresh:
            self.last_seen = fresh[0]["EventId"]
        return list(reversed(fresh))


def operation_events(cfn: CloudFormationClient, stack_id: str) -> list[Event]:
    """Events of the latest operation (back to its stack-level start event), oldest first.

    Used when the deployer did not watch the operation itself (it resumed, or found the stack already failed).
    """
    collected: list[Event] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        for event in page.get("StackEvents", []):
            collected.append(event)
            if is_stack_event(event, stack_id) and event.get("ResourceStatus") in OPERATION_STARTS:
                return list(reversed(collected))
    return list(reversed(collected))


@dataclass(frozen=True)
class RootCause:
    logical_id: str
    resource_type: str
    status: str
    reason: str
    hint: str | None

    def lines(self) -> list[str]:
        out = [f"Root cause: {self.logical_id} ({self.resource_type}) {self.status}: {self.reason}"]
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return out


def root_cause(events: Sequence[Event], stack_id: str | None = None) -> RootCause | None:
    """The first failure in time, skipping the cancellation cascade and the stack's own summary events."""
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")]
    real = [e for e in failed if not str(e.get("ResourceStatusReason", "")).lower().startswith(_CANCELLED)]
    resource_level = [e for e in real if not stack_id or not is_stack_event(e, stack_id)]
    candidates = resource_level or real
    if not candidates:
        return None
    chosen = candidates[0]
    reason = str(chosen.get("ResourceStatusReason", "") or "(no reason given)")
    return RootCause(
        logical_id=str(chosen.get("LogicalResourceId", "?")),
        resource_type=str(chosen.get("ResourceType", "?")),
        status=str(chosen.get("ResourceStatus", "?")),
        reason=reason,
        hint=hint_for(reason),
    )


_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Client.InvalidKMSKey.InvalidState",),
        "the KMS key for EBS encryption is disabled, pending deletion, or its policy does not let the Auto Scaling "
        "service-linked role use it: enable the key and add the key-policy statements from output/tap-stack.md",
    ),
    (
        ("Client.InvalidKMSKey",),
        "the KMS key cannot be used for EBS encryption: check KmsKeyArn and the key policy for Auto Scaling",
    ),
    (
        ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"),
        "S3 bucket names are global: another account or stack owns this name; choose another EnvironmentSuffix",
    ),
    (
        ("InvalidBucketName", "Bucket name should", "bucket name is not valid", "Invalid bucket name"),
        "S3 bucket names are 3-63 characters of lower-case letters, digits, dots and hyphens: check "
        "ProjectName and EnvironmentSuffix",
    ),
    (
        ("InsufficientCapabilities", "Requires capabilities"),
        f"acknowledge the named capability with --capabilities ({', '.join(CAPABILITIES)})",
    ),
    (
        ("already exists",),
        "a resource with this name exists outside the stack: pick another EnvironmentSuffix or remove the old one",
    ),
    (
        ("is not authorized to perform", "AccessDenied"),
        "the deploying identity (or --role-arn) lacks this permission; add it to its IAM policy",
    ),
)


def hint_for(reason: str) -> str | None:
    lowered = reason.lower()
    for needles, hint in _HINTS:
        if any(n.lower() in lowered for n in needles):
            return hint
    return None


def is_own_stack_event(event: Event) -> bool:
    """An event of the stack itself (not of a nested stack, which is one of its resources), told from the event
    alone: its physical id is the stack's id."""
    return event.get("ResourceType") == "AWS::CloudFormation::Stack" and (
        event.get("PhysicalResourceId") == event.get("StackId")
        or event.get("LogicalResourceId") == event.get("StackName")
    )

"""The wait loop: poll on the adaptive schedule, print new events, stop when the stack settles.

Why not botocore's waiters: they poll every 30 s (5 s at best for change sets), print nothing while they wait,
re-read nothing but the stack, and fail the deploy on the first error that outlasts the retries. This loop reads
only new events, slows down when throttled, and tells a timeout from a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from deployer.clients import api_error, is_stack_missing, is_transient
from deployer.errors import WaitTimedOut
from deployer.events import Event, EventReader, is_stack_event, poll_schedule
from deployer.output import Reporter
from deployer.states import is_settled

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

# Without a stack-level event, confirm the status with DescribeStacks every this many ticks anyway.
STATUS_CHECK_EVERY = 5
MAX_TRANSIENT_ERRORS = 6


@dataclass
class Pacer:
    """Sleeps between polls on the schedule, owns the deadline, and backs off when AWS pushes back."""

    sleep: Callable[[float], None]
    clock: Callable[[], float]
    timeout: float
    first: float
    cap: float
    resume_hint: str = ""
    max_transient: int = MAX_TRANSIENT_ERRORS
    started: float = field(init=False)
    _schedule: Iterator[float] = field(init=False)
    _last: float = field(init=False, default=0.0)
    _transient: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self._schedule = poll_schedule(self.first, self.cap)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def restart(self) -> None:
        """A new phase (change set, then stack) starts again with short intervals; the deadline stays."""
        self._schedule = poll_schedule(self.first, self.cap)

    def tick(self, subject: str, status: str) -> None:
        """Sleep until the next poll; raise WaitTimedOut past the deadline."""
        self._transient = 0
        self._check_deadline(subject, status)
        self._last = next(self._schedule)
        self.sleep(self._last)

    def slow_down(self, err: ClientError) -> None:
        """A poll was throttled (or got a 5xx) even after botocore's retries: wait longer, fail only if it lasts."""
        self._transient += 1
        if self._transient > self.max_transient:
            raise api_error(
                err, f"polling ({self._transient - 1} throttled or failed polls in a row)"
            ) from err
        self._check_deadline("the stack", "unknown (AWS is throttling)")
        self._last = min(max(self._last, self.first, 0.5) * 2, self.cap * 4)
        self.sleep(self._last)

    def _check_deadline(self, subject: str, status: str) -> None:
        if self.elapsed >= self.timeout:
            raise WaitTimedOut(
                f"timed out after {self.timeout:.0f}s waiting for {subject} (last status: {status}); the operation "
                "continues in CloudFormation and the stack was left alone",
                hint=self.resume_hint or None,
            )


@dataclass
class WaitResult:
    stack: dict[str, Any]
    events: list[Event]


def describe_stack(cfn: CloudFormationClient, stack: str) -> dict[str, Any] | None:
    """The stack (by name or id), or None if it does not exist. Errors other than 'missing' propagate."""
    try:
        for page in cfn.get_paginator("describe_stacks").paginate(StackName=stack):
            for found in page.get("Stacks", []):
                return dict(found)
    except ClientError as err:
        if is_stack_missing(err):
            return None
        raise
    return None


def wait_for_stack(
    cfn: CloudFormationClient,
    reader: EventReader,
    reporter: Reporter,
    pacer: Pacer,
    *,
    require_event: bool,
) -> WaitResult:
    """Poll until the stack settles. `reader` must be primed before the operation started.

    With `require_event`, a settled status counts only after a stack-level event of this operation was seen, so a
    stale status read just after ExecuteChangeSet cannot end the wait early.
    """
    seen: list[Event] = []
    since_check = STATUS_CHECK_EVERY
    stack_event_seen = False
    status = "unknown"
    while True:
        try:
            fresh = _read(reader, reporter, seen)
            fresh_stack_event = any(is_stack_event(e, reader.stack_id) for e in fresh)
            stack_event_seen |= fresh_stack_event
            if fresh_stack_event or since_check >= STATUS_CHECK_EVERY:
                since_check = 0
                current = describe_stack(cfn, reader.stack_id)
                if current is None:  # deleted and gone (some endpoints forget deleted stacks)
                    return WaitResult({"StackId": reader.stack_id, "StackStatus": "DELETE_COMPLETE"}, seen)
                status = str(current["StackStatus"])
                if is_settled(status) and (stack_event_seen or not require_event):
                    _read(reader, reporter, seen)  # the events written between our two reads
                    reporter.finish()
                    return WaitResult(current, seen)
            since_check += 1
        except ClientError as err:
            if not is_transient(err):
                raise api_error(err, f"waiting for stack {reader.stack_id}") from err
            pacer.slow_down(err)
            continue
        reporter.progress(_stack_name(reader.stack_id), status, pacer.elapsed)
        pacer.tick(f"stack {reader.stack_id}", status)


def _read(reader: EventReader, reporter: Reporter, seen: list[Event]) -> list[Event]:
    fresh = reader.new_events()
    for event in fresh:
        reporter.event(event)
    seen.extend(fresh)
    return fresh


def _stack_name(stack_id: str) -> str:
    # arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID
    parts = stack_id.split("/")
    return parts[1] if len(parts) >= 3 else stack_id

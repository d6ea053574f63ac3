"""The wait loop: poll on the adaptive schedule, print new events, stop when the stack settles.

Why not botocore's waiters: they poll every 30 s (5 s at best for change sets), print nothing while they wait,
re-read nothing but the stack, and fail the deploy on the first error that outlasts the retries. This loop reads
only new events, slows down when throttled, and tells a timeout from a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from deployer.clients import (
    error_code,
    error_message,
    is_stack_missing,
    is_throttling,
    is_transient_error,
    network_error,
)
from deployer.errors import WaitTimedOut
from deployer.events import Event, EventReader, is_stack_event, poll_interval
from deployer.output import Reporter
from deployer.states import is_settled

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

# Without a stack-level event, confirm the status with DescribeStacks this often anyway (seconds).
STATUS_CHECK_SECONDS = 60.0
MAX_TRANSIENT_ERRORS = 6
# The errors a poll may meet; which of them are worth polling again for is decided by is_transient_error.
POLL_ERRORS = (ClientError, BotoCoreError, ResponseParserError)


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
    # Where the one-line "slowing down" notices go (the reporter, once the CLI has one).
    notify: Callable[[str], None] = lambda _: None
    started: float = field(init=False)
    _last: float = field(init=False, default=0.0)
    _transient: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def tick(self, subject: str, status: str) -> None:
        """A poll went through: sleep until the next one; raise WaitTimedOut past the deadline."""
        self._transient = 0
        self._check_deadline(subject, status)
        self._last = poll_interval(self.elapsed, self.first, self.cap)
        self.sleep(self._last)

    def slow_down(self, err: Exception, subject: str, doing: str) -> None:
        """A poll was throttled or failed (5xx, network) even after botocore's retries: wait longer, say so, and
        fail (exit 5, with the command that resumes) only if it lasts. Anything else is raised as it is."""
        if not is_transient_error(err):
            raise network_error(err, doing) from err
        self._transient += 1
        if self._transient > self.max_transient:
            # The CLI adds what was left behind and the command that resumes, as for every AWS error.
            raise network_error(
                err, f"{doing} ({self._transient - 1} throttled or failed polls in a row)"
            ) from err
        self._check_deadline(subject, "unknown (AWS is throttling or failing)")
        self._last = min(max(self._last, self.first, 0.5) * 2, self.cap * 4)
        self.notify(
            f"Slowing down: {_why(err)}; polling {subject} again in {self._last:.0f}s "
            f"(attempt {self._transient} of {self.max_transient})"
        )
        self.sleep(self._last)

    def _check_deadline(self, subject: str, status: str) -> None:
        if self.elapsed >= self.timeout:
            raise WaitTimedOut(
                f"timed out after {self.timeout:.0f}s waiting for {subject} (last status: {status}); the operation "
                "continues in CloudFormation and the stack was left alone",
                hint=self.resume_hint or None,
            )


def _why(err: Exception) -> str:
    if isinstance(err, ClientError):
        kind = "AWS is throttling" if is_throttling(err) else "AWS answered with a server error"
        return f"{kind} ({error_code(err)}: {' '.join(error_message(err).split())[:120]})"
    return f"the connection to AWS failed ({type(err).__name__})"


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

    Each tick costs one DescribeStackEvents call (the reader stops paging at the last event seen); DescribeStacks
    is read only when a stack-level event says the operation ended, or every STATUS_CHECK_SECONDS as a safety net.
    With `require_event` (this run just started the operation), a settled status counts only after a stack-level
    event of this operation was seen, so a stale status read just after ExecuteChangeSet cannot end the wait
    early; the first poll then waits one interval, since nothing can have finished yet.
    """
    seen: list[Event] = []
    name = stack_name_of(reader.stack_id)
    stack_event_seen = False
    status = "unknown"
    last_check: float | None = None
    if require_event:
        pacer.tick(f"stack {name}", "starting")
        last_check = pacer.elapsed
    while True:
        try:
            fresh = _read(reader, reporter, seen)
            stack_events = [e for e in fresh if is_stack_event(e, reader.stack_id)]
            stack_event_seen |= bool(stack_events)
            ended = any(is_settled(str(e.get("ResourceStatus"))) for e in stack_events)
            if ended or last_check is None or pacer.elapsed - last_check >= STATUS_CHECK_SECONDS:
                last_check = pacer.elapsed
                current = describe_stack(cfn, reader.stack_id)
                if current is None:  # deleted and gone (some endpoints forget deleted stacks)
                    return WaitResult({"StackId": reader.stack_id, "StackStatus": "DELETE_COMPLETE"}, seen)
                status = str(current["StackStatus"])
                if is_settled(status) and (stack_event_seen or not require_event):
                    # The stack's own final event is the operation's last: only a status found otherwise (the
                    # safety check) can have events written between the two reads.
                    if not any(e.get("ResourceStatus") == status for e in stack_events):
                        _read(reader, reporter, seen)
                    reporter.finish()
                    return WaitResult(current, seen)
            elif stack_events:
                status = str(stack_events[-1].get("ResourceStatus"))
        except POLL_ERRORS as err:
            pacer.slow_down(err, f"stack {name}", f"waiting for stack {name}")
            continue
        reporter.progress(name, status, pacer.elapsed)
        pacer.tick(f"stack {name}", status)


def _read(reader: EventReader, reporter: Reporter, seen: list[Event]) -> list[Event]:
    fresh = reader.new_events()
    for event in fresh:
        reporter.event(event)
    seen.extend(fresh)
    return fresh


def stack_name_of(stack_id: str) -> str:
    """The name inside a stack ARN (arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID), or the name itself."""
    parts = stack_id.split("/")
    return parts[1] if len(parts) >= 3 and stack_id.startswith("arn:") else stack_id

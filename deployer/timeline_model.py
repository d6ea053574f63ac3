"""A stack operation as a timeline, the model: events in, one bar per resource and the critical path out.

Pure on purpose (no AWS, no files): deployer.timeline_render draws it, deployer.timeline reads the events and writes
the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from deployer.errors import BadInput
from deployer.events import OPERATION_STARTS, Event, is_own_stack_event

_CANCELLED = ("resource creation cancelled", "resource update cancelled", "resource deletion cancelled")
# Outcomes, in the order the legend lists them.
OUTCOMES = ("complete", "failed", "cancelled", "rolled-back", "in-progress")


@dataclass(frozen=True)
class Phase:
    """One stretch of work on a resource: from an *_IN_PROGRESS to the COMPLETE/FAILED/SKIPPED that ends it. A
    resource can have several in one operation (created, then deleted by the rollback; a replacement's old copy
    deleted in the cleanup); the time between them is not its work."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Bar:
    logical_id: str
    resource_type: str
    phases: tuple[Phase, ...]
    outcome: str  # one of OUTCOMES
    last_status: str
    reason: str = ""  # the ResourceStatusReason of the failure, for failed and cancelled bars

    @property
    def start(self) -> datetime:  # the first *_IN_PROGRESS of the operation
        return self.phases[0].start

    @property
    def end(
        self,
    ) -> datetime:  # the last COMPLETE/FAILED/SKIPPED, or the operation's last event while running
        return self.phases[-1].end

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Operation:
    stack_name: str
    start_event: Event  # the stack-level *_IN_PROGRESS that began it (or the oldest event read)
    events: tuple[Event, ...]  # oldest first

    @property
    def started(self) -> datetime:
        return _when(self.start_event)

    @property
    def ended(self) -> datetime:
        return max(_when(e) for e in self.events)

    @property
    def status(self) -> str:
        own = [e for e in self.events if is_own_stack_event(e)]
        return str(own[-1].get("ResourceStatus", "?")) if own else "?"

    @property
    def label(self) -> str:
        token = self.start_event.get("ClientRequestToken")
        return str(token or self.start_event.get("EventId", "?"))


def _when(event: Event) -> datetime:
    value = event.get("Timestamp")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _starts_operation(event: Event) -> bool:
    return is_own_stack_event(event) and event.get("ResourceStatus") in OPERATION_STARTS


def split_operations(newest_first: Iterable[Event]) -> Iterable[list[Event]]:
    """The stack's operations, newest first, each as its events oldest first; stops reading when not iterated on
    (so a paginator behind `newest_first` is read only as far back as the operation wanted)."""
    group: list[Event] = []
    for event in newest_first:
        group.append(event)
        if _starts_operation(event):
            yield list(reversed(group))
            group = []
    if group:
        yield list(reversed(group))


def select_operation(newest_first: Iterable[Event], wanted: str | None, stack_name: str) -> Operation:
    """The last operation, or the one whose events carry `wanted` as ClientRequestToken or EventId."""
    seen: list[str] = []
    for events in split_operations(newest_first):
        start = events[0]
        if wanted is None or any(wanted in (e.get("ClientRequestToken"), e.get("EventId")) for e in events):
            return Operation(stack_name, start, tuple(events))
        if _starts_operation(start) and len(seen) < 5:
            seen.append(
                f"{start.get('ClientRequestToken') or start.get('EventId')} ({start.get('ResourceStatus')})"
            )
    if wanted is None:
        raise BadInput(f"stack {stack_name} has no events to draw")
    recent = f"; its latest operations: {', '.join(seen)}" if seen else ""
    raise BadInput(
        f"no operation of stack {stack_name} has the ClientRequestToken or event id {wanted!r}{recent}",
        hint="give a ClientRequestToken or the EventId of the stack's *_IN_PROGRESS event that starts it, or "
        "leave --operation out for the last operation",
    )


def bars(operation: Operation) -> list[Bar]:
    """One bar per resource (the stack itself excluded), in the order they started."""
    rollback_from = next(
        (
            _when(e)
            for e in operation.events
            if is_own_stack_event(e) and "ROLLBACK_IN_PROGRESS" in str(e.get("ResourceStatus"))
        ),
        None,
    )
    by_resource: dict[str, list[Event]] = {}
    for event in operation.events:
        if not is_own_stack_event(event):
            by_resource.setdefault(str(event.get("LogicalResourceId", "?")), []).append(event)
    out = [_bar(lid, events, operation.ended, rollback_from) for lid, events in by_resource.items()]
    return sorted(out, key=lambda b: (b.start, b.logical_id))


def _bar(logical_id: str, events: list[Event], op_end: datetime, rollback_from: datetime | None) -> Bar:
    statuses = [str(e.get("ResourceStatus", "")) for e in events]
    failures = [e for e, s in zip(events, statuses, strict=True) if s.endswith("_FAILED")]
    real = [e for e in failures if not _is_cancellation(e)]
    reason = str(
        ((real or failures)[0].get("ResourceStatusReason") or "(no reason given)") if failures else ""
    )
    if real:
        outcome = "failed"
    elif failures:
        outcome = "cancelled"
    elif statuses[-1].endswith("_IN_PROGRESS"):
        outcome = "in-progress"
    elif rollback_from is not None and max(_when(e) for e in events) >= rollback_from:
        outcome = "rolled-back"
    else:
        outcome = "complete"
    rtype = str(events[0].get("ResourceType", "?"))
    return Bar(logical_id, rtype, _phases(events, op_end), outcome, statuses[-1], reason)


def _phases(events: list[Event], op_end: datetime) -> tuple[Phase, ...]:
    phases: list[Phase] = []
    opened: datetime | None = None
    for event in events:
        at, status = _when(event), str(event.get("ResourceStatus", ""))
        if status.endswith("_IN_PROGRESS"):
            opened = opened or at  # a second IN_PROGRESS (a replacement's new copy) continues the same work
        else:
            phases.append(Phase(opened or at, at))  # an end without a start (DELETE_SKIPPED) is an instant
            opened = None
    if opened is not None:  # still running when the events were read
        phases.append(Phase(opened, op_end))
    return tuple(phases)


def _is_cancellation(event: Event) -> bool:
    return str(event.get("ResourceStatusReason", "")).lower().startswith(_CANCELLED)


Step = tuple[Bar, Phase]


def critical_path(all_bars: Sequence[Bar]) -> list[Step]:
    """The chain of phases that ends last, oldest first.

    Events do not say which resource waited for which, but CloudFormation starts work on a resource as soon as
    the last of its dependencies is done (and a rollback starts when the failure that caused it is). So the path
    is built backwards over phases of work (not whole bars: the idle time between a resource's create and its
    rollback would hide what really took long): begin with the phase that ends last (it set the operation's
    length); before each, take the phase that ended latest at or before it started (the likeliest thing it waited
    for; on a tie, the one that started first); stop when none ended before it started. Every phase on the path
    starts after the previous one ended, so shortening any of them is what could shorten the operation.
    """
    steps = [(bar, phase) for bar in all_bars for phase in bar.phases]
    if not steps:
        return []

    def latest(candidates: list[Step]) -> Step:
        return max(candidates, key=lambda step: (step[1].end, -step[1].start.timestamp()))

    current = latest(steps)
    path = [current]
    while True:
        before = [s for s in steps if s[1].end <= current[1].start and s not in path]
        if not before:
            return list(reversed(path))
        current = latest(before)
        path.append(current)

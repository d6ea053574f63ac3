"""What the user sees while waiting: plain lines for CI logs, a live view on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from deployer.events import is_own_stack_event

Event = Mapping[str, Any]
_MAX_LIVE_ROWS = 8
# In CI nothing moves on screen: a line this often (seconds of the injected clock) says the run is alive and
# what it waits for.
HEARTBEAT_SECONDS = 60.0
_MAX_HEARTBEAT_NAMES = 5


def timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def event_line(event: Event) -> str:
    reason = event.get("ResourceStatusReason")
    line = (
        f"{timestamp(event.get('Timestamp'))}  {event.get('ResourceStatus', '?'):<36} "
        f"{event.get('ResourceType', '?'):<40} {event.get('LogicalResourceId', '?')}"
    )
    return f"{line}  {reason}" if reason else line


def duration(seconds: float) -> str:
    """4m00s, 45s, 1h02m03s: short enough for a log line, unambiguous."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def is_finished(status: str) -> bool:
    return status.endswith(("_COMPLETE", "_FAILED", "_SKIPPED"))


class Reporter(Protocol):
    def say(self, text: str) -> None: ...

    def event(self, event: Event) -> None: ...

    def progress(self, subject: str, status: str, elapsed: float) -> None: ...

    def finish(self) -> None: ...


class Tally:
    """The resources of one operation: which finished (counted once each, a replaced resource's cleanup included),
    which are in progress and since when (by the injected clock), and how many the change set touches."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self.total: int | None = None
        self.started: float | None = None
        self.finished: set[str] = set()
        self.running: dict[str, float] = {}

    def begin(self) -> None:
        if self.started is None:
            self.started = self.clock()

    def record(self, event: Event) -> None:
        self.begin()
        if is_own_stack_event(event):
            return  # the stack is not one of the resources the change set touches
        logical_id = str(event.get("LogicalResourceId", "?"))
        status = str(event.get("ResourceStatus", ""))
        if status.endswith("_IN_PROGRESS"):
            self.running.setdefault(logical_id, self.clock())
        elif is_finished(status):
            self.running.pop(logical_id, None)
            self.finished.add(logical_id)

    def count(self) -> str:
        done = len(self.finished)
        return f"{done}/{self.total} resources" if self.total is not None else f"{done} resources done"

    def heartbeat(self) -> str:
        now = self.clock()
        waited = now - (self.started if self.started is not None else now)
        longest = sorted(self.running.items(), key=lambda item: item[1])
        names = [f"{lid} ({duration(now - since)})" for lid, since in longest[:_MAX_HEARTBEAT_NAMES]]
        if len(longest) > _MAX_HEARTBEAT_NAMES:
            names.append(f"and {len(longest) - _MAX_HEARTBEAT_NAMES} more")
        running = ", ".join(names) or "no resource (the stack itself)"
        return f"still in progress after {duration(waited)}: {running}; {self.count()}"


class PlainReporter:
    """One timestamped line per event, and a heartbeat line every HEARTBEAT_SECONDS while an operation runs:
    grep-able, and no control characters in CI logs."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = stream
        self.tally = Tally(clock)
        self._last_beat: float | None = None

    def expect(self, total: int) -> None:
        self.tally.total = total
        self.tally.begin()

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def event(self, event: Event) -> None:
        self.tally.record(event)
        print(event_line(event), file=self._out, flush=True)

    def progress(self, subject: str, status: str, elapsed: float) -> None:
        self.tally.begin()
        now = self.tally.clock()
        last = self._last_beat if self._last_beat is not None else self.tally.started
        if last is not None and now - last >= HEARTBEAT_SECONDS:
            self._last_beat = now
            print(self.tally.heartbeat(), file=self._out, flush=True)

    def finish(self) -> None:
        self.tally.reset()
        self._last_beat = None


class LiveReporter:
    """Redraws a small block in place: overall counts and the resources still in progress; failures stay above."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = stream
        self._drawn = 0
        self._resources: dict[str, tuple[str, str]] = {}
        self._header = ""
        self.tally = Tally(clock)

    def expect(self, total: int) -> None:
        self.tally.total = total
        self.tally.begin()

    def say(self, text: str) -> None:
        self._clear()
        print(text, file=self._out)
        self._draw()

    def event(self, event: Event) -> None:
        self.tally.record(event)
        status = str(event.get("ResourceStatus", "?"))
        logical_id = str(event.get("LogicalResourceId", "?"))
        self._resources[logical_id] = (status, str(event.get("ResourceType", "?")))
        self._clear()
        if status.endswith("_FAILED"):
            print(event_line(event), file=self._out)
        self._draw()

    def progress(self, subject: str, status: str, elapsed: float) -> None:
        minutes, seconds = divmod(int(elapsed), 60)
        self._header = f"{subject}  {status}  {minutes:02d}:{seconds:02d}"
        self._clear()
        self._draw()

    def finish(self) -> None:
        self._clear()
        self._resources.clear()
        self._header = ""
        self.tally.reset()

    def _rows(self) -> list[str]:
        statuses = [s for s, _ in self._resources.values()]
        running = [(lid, s, t) for lid, (s, t) in self._resources.items() if s.endswith("_IN_PROGRESS")]
        failed = sum(s.endswith("_FAILED") for s in statuses)
        rows = [
            f"{self._header}   {self.tally.count()}, {len(running)} in progress, {failed} failed".lstrip()
        ]
        rows += [f"   {s:<36} {t:<40} {lid}" for lid, s, t in running[:_MAX_LIVE_ROWS]]
        if len(running) > _MAX_LIVE_ROWS:
            rows.append(f"   ... and {len(running) - _MAX_LIVE_ROWS} more")
        return rows

    def _draw(self) -> None:
        if not self._header and not self._resources:
            return
        rows = self._rows()
        self._out.write("\n".join(rows) + "\n")
        self._out.flush()
        self._drawn = len(rows)

    def _clear(self) -> None:
        if self._drawn:
            # Cursor up to the first drawn row, then erase to the end of the screen.
            self._out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0


def make_reporter(stream: TextIO, is_tty: bool, clock: Callable[[], float] = time.monotonic) -> Reporter:
    return LiveReporter(stream, clock) if is_tty else PlainReporter(stream, clock)


def expect_changes(reporter: Reporter, changes: Sequence[Mapping[str, Any]]) -> None:
    """Tell the reporter how many resources the execution about to start touches: one per resource change (a
    create's change set lists every resource it makes). Reporters that show no count (a manifest's) ignore it."""
    if isinstance(reporter, PlainReporter | LiveReporter):
        reporter.expect(len(changes))

"""What the user sees while waiting: plain lines for CI logs, a live view on a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

Event = Mapping[str, Any]
_MAX_LIVE_ROWS = 8


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


class Reporter(Protocol):
    def say(self, text: str) -> None: ...

    def event(self, event: Event) -> None: ...

    def progress(self, subject: str, status: str, elapsed: float) -> None: ...

    def finish(self) -> None: ...


class PlainReporter:
    """One timestamped line per event and nothing else: grep-able, and no control characters in CI logs."""

    def __init__(self, stream: TextIO) -> None:
        self._out = stream

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def event(self, event: Event) -> None:
        print(event_line(event), file=self._out, flush=True)

    def progress(self, subject: str, status: str, elapsed: float) -> None:
        return None

    def finish(self) -> None:
        return None


class LiveReporter:
    """Redraws a small block in place: overall counts and the resources still in progress; failures stay above."""

    def __init__(self, stream: TextIO) -> None:
        self._out = stream
        self._drawn = 0
        self._resources: dict[str, tuple[str, str]] = {}
        self._header = ""

    def say(self, text: str) -> None:
        self._clear()
        print(text, file=self._out)
        self._draw()

    def event(self, event: Event) -> None:
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

    def _rows(self) -> list[str]:
        statuses = [s for s, _ in self._resources.values()]
        done = sum(s.endswith("_COMPLETE") for s in statuses)
        running = [(lid, s, t) for lid, (s, t) in self._resources.items() if s.endswith("_IN_PROGRESS")]
        failed = sum(s.endswith("_FAILED") for s in statuses)
        rows = [f"{self._header}   {done} complete, {len(running)} in progress, {failed} failed"]
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


def make_reporter(stream: TextIO, is_tty: bool) -> Reporter:
    return LiveReporter(stream) if is_tty else PlainReporter(stream)

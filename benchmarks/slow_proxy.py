"""A loopback HTTP proxy in front of the emulator that makes CloudFormation as slow as the real one, and counts calls.

moto finishes every change set and stack operation synchronously, so a deployer's waiting is never exercised. This
proxy forwards every request to moto and rewrites three answers while the simulated work is "running":
- DescribeChangeSet says CREATE_IN_PROGRESS / UNAVAILABLE until `change_set_seconds` after CreateChangeSet;
- DescribeStacks says the operation's *_IN_PROGRESS status until `operation_seconds` after ExecuteChangeSet;
- DescribeStackEvents hides the events written since ExecuteChangeSet that are not *_IN_PROGRESS, for as long.
It counts CloudFormation calls by action. Its clock is injectable, so a simulated 10-minute operation can run against
a fake clock in the same process as the deployer.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

_MEMBER = re.compile(rb"<member>.*?</member>", re.DOTALL)
_EVENTS = re.compile(rb"<StackEvents>(.*?)</StackEvents>", re.DOTALL)


def _tag(block: bytes, name: str) -> str:
    found = re.search(rb"<" + name.encode() + rb">(.*?)</" + name.encode() + rb">", block, re.DOTALL)
    return found.group(1).decode() if found else ""


def _timestamp(text: str) -> float:
    return (
        datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC).timestamp() if text else 0.0
    )


class SlowCloudFormation:
    def __init__(
        self,
        upstream_port: int,
        change_set_seconds: float = 3.0,
        operation_seconds: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream_port = upstream_port
        self.change_set_seconds = change_set_seconds
        self.operation_seconds = operation_seconds
        self.clock = clock
        self.calls: Counter[str] = Counter()
        self.change_set_at: float | None = None
        self.executed_at: float | None = None  # on self.clock
        self.executed_wall: float = 0.0  # on the wall clock, to tell new events from moto's timestamps
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                owner._handle(self)

            def do_GET(self) -> None:
                owner._handle(self)

            def do_PUT(self) -> None:
                owner._handle(self)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SlowCloudFormation:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.change_set_at = self.executed_at = None

    @property
    def completes_at(self) -> float | None:
        """When (on the proxy's clock) the operation's completion becomes visible."""
        return None if self.executed_at is None else self.executed_at + self.operation_seconds

    # ---- forwarding ------------------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if action:
            with self._lock:
                self.calls[action] += 1
                if action == "CreateChangeSet":
                    self.change_set_at = self.clock()
                elif action == "ExecuteChangeSet":
                    self.executed_at, self.executed_wall = self.clock(), time.time()
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        upstream.request(request.command, request.path, body=body, headers=headers)
        answer = upstream.getresponse()
        payload = self._rewrite(action, answer.read())
        request.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in {"content-length", "transfer-encoding", "connection", "date", "server"}:
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
        upstream.close()

    def _rewrite(self, action: str, payload: bytes) -> bytes:
        now = self.clock()
        creating = self.change_set_at is not None and now - self.change_set_at < self.change_set_seconds
        if creating and action == "DescribeChangeSet":
            payload = payload.replace(
                b"<Status>CREATE_COMPLETE</Status>", b"<Status>CREATE_IN_PROGRESS</Status>"
            )
            payload = payload.replace(
                b"<ExecutionStatus>AVAILABLE</ExecutionStatus>",
                b"<ExecutionStatus>UNAVAILABLE</ExecutionStatus>",
            )
        running = self.executed_at is not None and now - self.executed_at < self.operation_seconds
        if running and action == "DescribeStacks":
            payload = re.sub(
                rb"<StackStatus>(CREATE|UPDATE)_COMPLETE</StackStatus>",
                rb"<StackStatus>\1_IN_PROGRESS</StackStatus>",
                payload,
            )
        if running and action == "DescribeStackEvents":
            payload = _EVENTS.sub(
                lambda m: b"<StackEvents>" + self._hide_finished(m.group(1)) + b"</StackEvents>", payload
            )
        return payload

    def _hide_finished(self, events: bytes) -> bytes:
        kept = []
        for block in _MEMBER.findall(events):
            new = _timestamp(_tag(block, "Timestamp")) >= self.executed_wall - 1.0
            if new and not _tag(block, "ResourceStatus").endswith("_IN_PROGRESS"):
                continue
            kept.append(block)
        return b"".join(kept)

"""A loopback proxy in front of moto that makes CloudFormation operations take time and throttles like an account.

moto finishes every operation at once; this proxy makes the deployer see what AWS shows instead:
- a change set stays CREATE_IN_PROGRESS for `change_set_seconds` after CreateChangeSet;
- a stack stays *_IN_PROGRESS for `stack_seconds` after ExecuteChangeSet (DescribeStacks shows the in-progress
  status, DescribeStackEvents shows the events from before the execution);
- more than `calls_per_second` requests per account in any one-second window get HTTP 400 Throttling, as AWS does.
It listens on 127.0.0.1 only and forwards to moto on 127.0.0.1.
"""

from __future__ import annotations

import collections
import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

THROTTLED = (
    b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
    b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>slow-proxy</RequestId>"
    b"</ErrorResponse>"
)


@dataclass
class Figures:
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    throttled: int = 0


@dataclass
class SlowState:
    change_set_seconds: float
    stack_seconds: float
    calls_per_second: int
    figures: Figures = field(default_factory=Figures)
    lock: threading.Lock = field(default_factory=threading.Lock)
    change_sets: dict[str, float] = field(default_factory=dict)  # change set id -> created at
    stack_of: dict[str, str] = field(default_factory=dict)  # change set id -> stack id
    running: dict[str, float] = field(default_factory=dict)  # stack id or name -> operation ends at
    events_before: dict[str, bytes] = field(default_factory=dict)  # stack id -> events as primed
    window: dict[str, collections.deque[float]] = field(default_factory=dict)

    def admit(self, account: str) -> bool:
        now = time.monotonic()
        with self.lock:
            calls = self.window.setdefault(account, collections.deque())
            while calls and calls[0] <= now - 1.0:
                calls.popleft()
            if len(calls) >= self.calls_per_second:
                self.figures.throttled += 1
                return False
            calls.append(now)
            return True


def _first(params: dict[str, list[str]], key: str) -> str:
    return params.get(key, [""])[0]


def _tag(body: bytes, name: str) -> str:
    found = re.search(rb"<%s>([^<]*)</%s>" % (name.encode(), name.encode()), body)
    return found.group(1).decode() if found else ""


def make_handler(state: SlowState, upstream: str) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            params = parse_qs(body.decode("utf-8", "replace"))
            action = _first(params, "Action")
            credential = re.search(r"Credential=([^/]+)/", self.headers.get("Authorization", ""))
            account = credential.group(1) if credential else "?"
            if action and not state.admit(account):
                self._answer(400, THROTTLED, "text/xml")
                return
            state.figures.requests[action or "(other)"] += 1
            connection = http.client.HTTPConnection(str(target.hostname), target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
            connection.request("POST", self.path, body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            connection.close()
            payload = self._slow_down(action, params, payload)
            self._answer(answer.status, payload, answer.getheader("Content-Type", "text/xml"))

        def _slow_down(self, action: str, params: dict[str, list[str]], payload: bytes) -> bytes:
            now = time.monotonic()
            with state.lock:
                if action == "CreateChangeSet":
                    change_set = _tag(payload, "Id")
                    state.change_sets[change_set] = now
                    state.stack_of[change_set] = _tag(payload, "StackId")
                elif action == "DescribeChangeSet":
                    created = state.change_sets.get(_first(params, "ChangeSetName"))
                    if created is not None and now - created < state.change_set_seconds:
                        payload = payload.replace(b"<Status>CREATE_COMPLETE<", b"<Status>CREATE_IN_PROGRESS<")
                        payload = payload.replace(b">AVAILABLE<", b">UNAVAILABLE<")
                elif action == "ExecuteChangeSet":
                    stack_id = state.stack_of.get(_first(params, "ChangeSetName"), "")
                    ends = now + state.stack_seconds
                    state.running[stack_id] = ends
                    state.running[stack_id.split("/")[1] if "/" in stack_id else stack_id] = ends
                elif action == "DescribeStacks":
                    if state.running.get(_first(params, "StackName"), 0.0) > now:
                        payload = re.sub(
                            rb"<StackStatus>(\w+?)_COMPLETE<", rb"<StackStatus>\1_IN_PROGRESS<", payload
                        )
                elif action == "DescribeStackEvents" and not _first(params, "NextToken"):
                    stack = _first(params, "StackName")
                    if state.running.get(stack, 0.0) > now and stack in state.events_before:
                        payload = state.events_before[stack]
                    elif state.running.get(stack, 0.0) <= now:
                        state.events_before[stack] = payload
            return payload

        def _answer(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


class SlowProxy:
    def __init__(self, upstream: str, state: SlowState) -> None:
        self.state = state
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state, upstream))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> SlowProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

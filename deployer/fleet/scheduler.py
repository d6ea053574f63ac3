"""Start stacks as their dependencies finish, at most `max_parallel` at once, and apply the failure policy.

Threads, not processes: each stack spends its time waiting on CloudFormation, and each thread builds its own boto3
clients (sessions and clients are not shared across threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from deployer.errors import ExitCode
from deployer.fleet.plan import Graph
from deployer.fleet.summary import StackResult

FailurePolicy = Literal["stop", "continue"]
POLL_SECONDS = 0.2  # how often the main thread looks up from waiting, so Ctrl-C is seen promptly


class Interrupted(Exception):
    """Raised inside a stack's thread at its next sleep once the run is stopping; the AWS operation continues."""


@dataclass
class Scheduler:
    graph: Graph
    selected: Sequence[str]  # in dependency order
    work: Callable[[str], StackResult]
    blank: Callable[[str], StackResult]  # the result of a stack that never started
    max_parallel: int
    on_failure: FailurePolicy = "stop"
    ordered: bool = True  # status reads need no order
    stop: threading.Event = field(default_factory=threading.Event)
    interrupted: bool = False
    _results: dict[str, StackResult] = field(default_factory=dict)
    _running: dict[Future[StackResult], str] = field(default_factory=dict)
    _pending: list[str] = field(default_factory=list)
    _halted: bool = False

    def run(self) -> list[StackResult]:
        self._pending = list(self.selected)
        with ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="stack") as pool:
            try:
                self._loop(pool)
            except KeyboardInterrupt:
                self.interrupted = True
                self.stop.set()  # each running stack stops at its next poll; CloudFormation carries on
                self._collect_all()
        for key in self._pending:
            self._results[key] = self.blank(key)
        return [self._results[key] for key in self.selected]

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            if not self._halted:
                self._start_ready(pool)
            if not self._running:
                return
            done, _ = wait(list(self._running), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                self._finish(future)

    def _collect_all(self) -> None:
        while self._running:
            try:
                done, _ = wait(list(self._running), timeout=POLL_SECONDS)
            except KeyboardInterrupt:  # a second Ctrl-C while stacks stop: keep collecting
                continue
            for future in done:
                self._finish(future)

    def _finish(self, future: Future[StackResult]) -> None:
        key = self._running.pop(future)
        try:
            result = future.result()
        except (
            Exception
        ) as err:  # work() reports its own failures; this is a bug, kept as one stack's failure
            result = self.blank(key)
            result.result, result.detail, result.exit_code = "failed", repr(err), ExitCode.INTERNAL_ERROR
        self._results[key] = result
        if not result.done and self.on_failure == "stop":
            self._halted = True

    def _deps(self, key: str) -> list[str]:
        if not self.ordered:
            return []
        return [d for d in self.graph.get(key, ()) if d in self.selected]

    def _start_ready(self, pool: ThreadPoolExecutor) -> None:
        changed = True
        while changed:
            changed = False
            for key in list(self._pending):
                deps = self._deps(key)
                broken = [d for d in deps if d in self._results and not self._results[d].done]
                if broken:
                    skipped = self.blank(key)
                    dep = self._results[broken[0]]
                    skipped.result = "skipped"
                    skipped.detail = (
                        f"needs {dep.key}, which {'was ' if dep.result == 'skipped' else ''}{dep.result}"
                    )
                    skipped.exit_code = dep.exit_code
                    self._results[key] = skipped
                    self._pending.remove(key)
                    changed = True
                elif all(d in self._results for d in deps) and len(self._running) < self.max_parallel:
                    self._running[pool.submit(self.work, key)] = key
                    self._pending.remove(key)
                    changed = True

"""Order, parallelism limit, failure policies and interrupts of the scheduler, with stand-in work (no AWS)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from deployer.errors import ExitCode
from deployer.fleet.command import _sigterm_as_interrupt
from deployer.fleet.plan import dependants, find_cycle, select, topological_order
from deployer.fleet.scheduler import Interrupted, Scheduler
from deployer.fleet.summary import StackResult, exit_code, resume_command

GRAPH = {
    "network": (),
    "dns": (),
    "db": ("network",),
    "app": ("db", "dns"),
    "cdn": ("app",),
    "logs": (),
}


def test_order_puts_every_stack_after_its_dependencies_and_keeps_file_order_for_ties() -> None:
    assert topological_order(GRAPH) == ["network", "dns", "logs", "db", "app", "cdn"]


def test_a_cycle_is_found_as_a_path() -> None:
    assert find_cycle({"a": ("b",), "b": ("c",), "c": ("a",), "d": ()}) == ["a", "b", "c"]
    assert find_cycle(GRAPH) is None


def test_dependants_are_transitive() -> None:
    assert dependants(GRAPH, "network") == {"db", "app", "cdn"}
    assert dependants(GRAPH, "logs") == set()


def test_only_keeps_dependency_order() -> None:
    assert select(GRAPH, ["cdn", "network"]) == ["network", "cdn"]


class Recorder:
    """Stand-in work: tracks how many run at once and the order they start and end in."""

    def __init__(self, seconds: float = 0.05, failing: frozenset[str] = frozenset()) -> None:
        self.seconds = seconds
        self.failing = failing
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.started: list[str] = []
        self.ended: list[str] = []

    def __call__(self, key: str) -> StackResult:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.started.append(key)
        time.sleep(self.seconds)
        with self.lock:
            self.active -= 1
            self.ended.append(key)
        failed = key in self.failing
        return StackResult(
            key=key,
            region="us-east-1",
            result="failed" if failed else "deployed",
            exit_code=ExitCode.STACK_FAILED if failed else ExitCode.SUCCESS,
        )


def blank(key: str) -> StackResult:
    return StackResult(key=key, region="us-east-1")


def scheduler(
    work: Recorder, graph: dict[str, tuple[str, ...]], parallel: int, policy: str = "stop"
) -> Scheduler:
    return Scheduler(
        graph=graph,
        selected=topological_order(graph),
        work=work,
        blank=blank,
        max_parallel=parallel,
        on_failure=policy,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("parallel", [1, 2, 5])
def test_no_more_stacks_run_at_once_than_max_parallel(parallel: int) -> None:
    graph = {f"s{i}": () for i in range(10)}
    work = Recorder()
    results = scheduler(work, graph, parallel).run()
    assert work.max_active == parallel  # observed: the limit is reached and never passed
    assert all(r.result == "deployed" for r in results)


def test_dependants_start_only_after_their_dependencies_ended() -> None:
    work = Recorder()
    scheduler(work, dict(GRAPH), 4).run()
    for stack, deps in GRAPH.items():
        for dep in deps:
            assert work.ended.index(dep) < work.started.index(stack), (dep, stack)


def test_stop_starts_nothing_new_but_lets_running_stacks_finish() -> None:
    graph = {"a": (), "b": (), "c": (), "d": (), "e": ()}
    work = Recorder(seconds=0.1, failing=frozenset({"a"}))
    work_a_fast = Recorder(seconds=0.0, failing=frozenset({"a"}))

    def mixed(key: str) -> StackResult:
        return work_a_fast(key) if key == "a" else work(key)

    results = Scheduler(graph, list(graph), mixed, blank, max_parallel=2, on_failure="stop").run()
    by_key = {r.key: r for r in results}
    assert by_key["a"].result == "failed"
    assert by_key["b"].result == "deployed"  # was running when a failed: left to finish
    assert {by_key[k].result for k in "cde"} == {"not started"}
    assert exit_code(results) == ExitCode.STACK_FAILED


def test_continue_finishes_what_does_not_depend_on_the_failure_and_skips_dependants() -> None:
    work = Recorder(failing=frozenset({"network"}))
    results = {r.key: r for r in scheduler(work, dict(GRAPH), 2, policy="continue").run()}
    assert results["network"].result == "failed"
    assert {results[k].result for k in ("dns", "logs")} == {"deployed"}
    assert {results[k].result for k in ("db", "app", "cdn")} == {"skipped"}
    assert results["db"].detail == "needs network, which failed"
    assert results["cdn"].detail == "needs app, which was skipped"
    assert set(work.started) == {"network", "dns", "logs"}


def test_sigterm_stops_starting_stacks_and_stops_waiting_on_running_ones() -> None:
    graph = {f"s{i}": () for i in range(6)}
    stop = threading.Event()
    started: list[str] = []

    def waits_until_stopped(key: str) -> StackResult:
        started.append(key)
        if stop.wait(10):  # a stack's poll sleep: the stop ends it
            return StackResult(key=key, region="r", result="interrupted", exit_code=ExitCode.INTERRUPTED)
        raise Interrupted

    sched = Scheduler(graph, list(graph), waits_until_stopped, blank, max_parallel=2, stop=stop)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGTERM))
    begun = time.monotonic()
    with _sigterm_as_interrupt():
        timer.start()
        results = sched.run()
    assert time.monotonic() - begun < 5
    assert sched.interrupted
    assert sorted(started) == ["s0", "s1"]
    assert [r.result for r in results] == ["interrupted"] * 2 + ["not started"] * 4
    resume = resume_command(["manifest", "deploy", "m.toml", "--only", "s0", "s1", "s5"], results)
    assert resume == "deploy.py manifest deploy m.toml --only s0 s1 s2 s3 s4 s5"


def test_everything_done_needs_no_resume() -> None:
    results = [StackResult(key="a", region="r", result="no changes")]
    assert resume_command(["manifest", "deploy", "m.toml"], results) is None
    assert exit_code(results) == ExitCode.SUCCESS
    assert exit_code([*results, StackResult(key="b", region="r", result="changes ready")]) == 8

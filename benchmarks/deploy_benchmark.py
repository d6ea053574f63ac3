"""Figures for deploy.py: API calls and wall time against moto, and detection lag of the poll schedule.

Run: .venv/bin/python benchmarks/deploy_benchmark.py   (starts moto on 127.0.0.1; no AWS account, no assertions)
"""

from __future__ import annotations

import glob
import io
import itertools
import json
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deployer import cli  # noqa: E402
from deployer.clients import ClientFactory, ClientSettings  # noqa: E402
from deployer.events import DEFAULT_FIRST_INTERVAL, DEFAULT_MAX_INTERVAL, poll_schedule  # noqa: E402
from deployer.waiting import STATUS_CHECK_EVERY  # noqa: E402
from emulator.server import dummy_aws_env, running_moto_server  # noqa: E402

# What `aws cloudformation deploy` passes to botocore's waiters (awscli/customizations/cloudformation/deployer.py):
# WaiterConfig Delay=5 for change_set_create_complete, Delay=30 for stack_create/update_complete.
CLI_CHANGE_SET_DELAY = 5.0
CLI_STACK_DELAY = 30.0
OPERATIONS = (10.0, 60.0, 600.0)


class CountingFactory(ClientFactory):
    """The product's own factory, with botocore event hooks that count API calls and HTTP requests (retries)."""

    def __init__(self, settings: ClientSettings, counts: Counter[str]) -> None:
        super().__init__(settings)
        self.counts = counts

    def cloudformation(self) -> Any:
        return self._count(super().cloudformation())

    def s3(self) -> Any:
        return self._count(super().s3())

    def _count(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._api_call)
        client.meta.events.register("before-send.*.*", self._http_request)
        return client

    def _api_call(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1

    def _http_request(self, **_: Any) -> None:
        self.counts["(HTTP requests)"] += 1


def template(resources: int, topic_suffix: str = "") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Parameters": {"Suffix": {"Type": "String", "Default": "bench", "AllowedPattern": "^[a-z0-9-]+$"}},
        "Resources": {},
    }
    for i in range(resources):
        doc["Resources"][f"Topic{i}"] = {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": {"Fn::Sub": f"bench-{i}{topic_suffix}-${{Suffix}}"}},
        }
    return doc


def run_cli(endpoint: str, args: list[str]) -> tuple[int, Counter[str], float]:
    counts: Counter[str] = Counter()
    env = cli.Environment(
        clients=lambda settings: CountingFactory(settings, counts),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdout_is_tty=False,
        stdin_is_tty=False,
    )
    started = time.perf_counter()
    code = cli.main([*args, "--endpoint-url", endpoint], env)
    return code, counts, time.perf_counter() - started


def moto_figures() -> None:
    print(
        "API calls and wall time against moto on 127.0.0.1 (moto finishes operations synchronously, so these"
    )
    print(
        "are the fixed costs of each path; on AWS the polls of the wait loop come on top, see the lag table)"
    )
    with tempfile.TemporaryDirectory() as tmp, dummy_aws_env(), running_moto_server() as moto:
        small, changed = Path(tmp, "a.json"), Path(tmp, "b.json")
        small.write_text(json.dumps(template(20)))
        changed.write_text(json.dumps(template(21)))
        base = ["--stack-name", "bench"]
        scenarios = [
            ("create (20 resources)", ["deploy", *base, "--template-file", str(small)]),
            ("update (+1 resource)", ["deploy", *base, "--template-file", str(changed)]),
            ("no-op (same template)", ["deploy", *base, "--template-file", str(changed)]),
            ("plan with changes", ["plan", *base, "--template-file", str(small)]),
            ("delete", ["delete", *base, "--yes"]),
        ]
        print(
            f"  {'scenario':<24} {'exit':>4} {'API calls':>9} {'HTTP':>5} {'wall ms':>8}  calls by operation"
        )
        for label, args in scenarios:
            code, counts, seconds = run_cli(moto.endpoint, args)
            http = counts.pop("(HTTP requests)", 0)
            detail = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
            print(
                f"  {label:<24} {code:>4} {sum(counts.values()):>9} {http:>5} {seconds * 1000:>8.0f}  {detail}"
            )
        # The factory above is the product's; this one only checks nothing was left behind.
        leftovers = (
            ClientFactory(ClientSettings(endpoint_url=moto.endpoint)).cloudformation().describe_stacks()
        )
        print(f"  stacks left after delete: {len(leftovers['Stacks'])}")


def poll_times(first: float, cap: float) -> list[float]:
    """Times of the polls after an operation starts: one read at once, then after each interval."""
    times, now = [0.0], 0.0
    for interval in itertools.islice(poll_schedule(first, cap), 10_000):
        now += interval
        times.append(now)
        if now > 2 * max(OPERATIONS) + 100:
            break
    return times


def waiter_times(delay: float, horizon: float) -> list[float]:
    # botocore waiters call once at once, then sleep `delay` between attempts.
    return [i * delay for i in range(int(horizon / delay) + 2)]


def detection(times: list[float], done_at: float) -> tuple[float, int]:
    for polls, t in enumerate(times, start=1):
        if t >= done_at:
            return t - done_at, polls
    return math.inf, len(times)


def expected_lag(times: list[float], duration: float, samples: int = 2000) -> tuple[float, float]:
    """Mean lag and polls for operations lasting uniformly between 0.5x and 1.5x `duration`."""
    lags, polls = [], []
    for i in range(samples):
        lag, n = detection(times, duration * (0.5 + (i + 0.5) / samples))
        lags.append(lag)
        polls.append(n)
    return sum(lags) / samples, sum(polls) / samples


def waiter_model_delays() -> dict[str, int]:
    pattern = str(
        Path(sys.prefix) / "lib/python3*/site-packages/botocore/data/cloudformation/*/waiters-2.json"
    )
    paths = sorted(glob.glob(pattern))
    if not paths:
        import botocore

        paths = sorted(
            glob.glob(str(Path(botocore.__file__).parent / "data/cloudformation/*/waiters-2.json"))
        )
    waiters = json.loads(Path(paths[-1]).read_text())["waiters"]
    names = ("ChangeSetCreateComplete", "StackCreateComplete", "StackUpdateComplete")
    return {name: int(waiters[name]["delay"]) for name in names}


def lag_figures() -> None:
    print()
    print(
        "botocore's waiter model (waiters-2.json) delays: "
        + ", ".join(f"{k} {v} s" for k, v in waiter_model_delays().items())
    )
    print(
        f"aws cloudformation deploy overrides them: change set {CLI_CHANGE_SET_DELAY:g} s, stack {CLI_STACK_DELAY:g} s"
    )
    print(
        f"deploy.py schedule: first {DEFAULT_FIRST_INTERVAL:g} s, x1.5 per poll, cap {DEFAULT_MAX_INTERVAL:g} s; "
        f"each poll = 1 DescribeStackEvents (+1 DescribeStacks on a stack event or every {STATUS_CHECK_EVERY}th)"
    )
    ours = poll_times(DEFAULT_FIRST_INTERVAL, DEFAULT_MAX_INTERVAL)
    print()
    print(
        f"  {'operation':>9} | {'deploy.py lag':>13} {'polls':>6} | {'CLI 30 s lag':>12} {'polls':>6} |"
        f" {'exact-time lag: ours / CLI':>27}"
    )
    for duration in OPERATIONS:
        cli_times = waiter_times(CLI_STACK_DELAY, 3 * duration)
        our_lag, our_polls = expected_lag(ours, duration)
        cli_lag, cli_polls = expected_lag(cli_times, duration)
        exact_ours, _ = detection(ours, duration)
        exact_cli, _ = detection(cli_times, duration)
        print(
            f"  {duration:>8.0f}s | {our_lag:>12.1f}s {our_polls:>6.1f} | {cli_lag:>11.1f}s {cli_polls:>6.1f} |"
            f" {exact_ours:>12.1f}s / {exact_cli:.1f}s"
        )
    print()
    print("  change-set creation (CLI waits 5 s between polls):")
    for duration in (2.0, 5.0, 15.0):
        our_lag, our_polls = expected_lag(ours, duration)
        cli_lag, cli_polls = expected_lag(waiter_times(CLI_CHANGE_SET_DELAY, 3 * duration), duration)
        print(
            f"  {duration:>8.0f}s | {our_lag:>12.1f}s {our_polls:>6.1f} | {cli_lag:>11.1f}s {cli_polls:>6.1f} |"
        )
    print(
        "  (lag: mean time from the operation ending to the tool noticing, for durations uniform in 0.5x-1.5x)"
    )


if __name__ == "__main__":
    moto_figures()
    lag_figures()

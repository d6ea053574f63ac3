"""Figures for deploy.py: API calls against moto, then detection lag and calls through a slow loopback proxy.

1. API calls and wall time of each path against moto (which finishes everything at once).
2. deploy.py and `aws cloudformation deploy` (awscli v1) side by side through benchmarks/slow_proxy.py, which makes
   a change set take 3 s and the stack operation 20 s: each tool's lag after completion and CloudFormation calls.
3. deploy.py alone on a simulated 10-minute operation (a fake clock shared with the proxy): lag and calls/second.

Run: .venv/bin/python benchmarks/deploy_benchmark.py   (starts moto on 127.0.0.1; no AWS account, no assertions)
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slow_proxy import SlowCloudFormation  # noqa: E402  (beside this script)

from deployer import cli  # noqa: E402
from deployer.clients import ClientFactory, ClientSettings  # noqa: E402
from deployer.events import DEFAULT_FIRST_INTERVAL, DEFAULT_MAX_INTERVAL  # noqa: E402
from emulator.server import dummy_aws_env, running_moto_server  # noqa: E402


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


@dataclass
class Run:
    tool: str
    code: int
    lag: float  # seconds from the operation's completion to the tool's exit
    calls: Counter[str]
    seconds: float  # the whole run


def timed_subprocess(tool: str, command: list[str], proxy: SlowCloudFormation) -> Run:
    proxy.reset()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    ended = time.monotonic()
    if done.returncode:
        print(f"  ({tool} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]})")
    lag = ended - proxy.completes_at if proxy.completes_at is not None else math.nan
    return Run(tool, done.returncode, lag, Counter(proxy.calls), ended - started)


def aws_cli() -> str:
    beside = Path(sys.executable).parent / "aws"
    return str(beside) if beside.exists() else shutil.which("aws") or "aws"


def side_by_side(change_set_seconds: float, operation_seconds: float) -> None:
    print(
        f"\nThrough a loopback proxy in front of moto: a change set takes {change_set_seconds:g} s, the stack "
        f"operation {operation_seconds:g} s"
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        dummy_aws_env(),
        running_moto_server() as moto,
        SlowCloudFormation(moto.port, change_set_seconds, operation_seconds) as proxy,
    ):
        path = Path(tmp, "template.json")
        path.write_text(json.dumps(template(5)))
        connection = ["--endpoint-url", proxy.endpoint, "--region", "us-east-1"]
        ours = ["--stack-name", "bench-ours", "--template-file", str(path), *connection]
        theirs = ["--stack-name", "bench-cli", "--template-file", str(path), *connection]
        runs = [
            timed_subprocess("deploy.py", [sys.executable, str(ROOT / "deploy.py"), "deploy", *ours], proxy),
            timed_subprocess(
                "aws cloudformation deploy", [aws_cli(), "cloudformation", "deploy", *theirs], proxy
            ),
        ]
    print(
        f"  {'tool':<26} {'exit':>4} {'lag after completion':>21} {'CFN calls':>10} {'run':>7}  calls by action"
    )
    for run in runs:
        detail = ", ".join(f"{action} {n}" for action, n in sorted(run.calls.items()))
        print(
            f"  {run.tool:<26} {run.code:>4} {run.lag:>20.1f}s {sum(run.calls.values()):>10} {run.seconds:>6.1f}s"
            f"  {detail}"
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def simulated_long_operation(
    stack: str, operation_seconds: float, extra: list[str]
) -> tuple[float, int, float, float]:
    """deploy.py in this process on a fake clock shared with the proxy: (lag, calls, calls/s, wall seconds)."""
    clock = FakeClock()
    with (
        tempfile.TemporaryDirectory() as tmp,
        dummy_aws_env(),
        running_moto_server() as moto,
        SlowCloudFormation(moto.port, 3.0, operation_seconds, clock=clock.time) as proxy,
    ):
        path = Path(tmp, "template.json")
        path.write_text(json.dumps(template(5)))
        env = cli.Environment(
            sleep=clock.sleep,
            clock=clock.time,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            stdout_is_tty=False,
        )
        started = time.monotonic()
        # moto's state outlives its server within one process: each run gets a stack of its own.
        args = ["deploy", "--stack-name", stack, "--template-file", str(path), *extra]
        code = cli.main([*args, "--endpoint-url", proxy.endpoint], env)
        wall = time.monotonic() - started
        assert proxy.completes_at is not None and code == 0, env.stderr.getvalue()  # type: ignore[attr-defined]
        calls = sum(proxy.calls.values())
        return clock.now - proxy.completes_at, calls, calls / clock.now, wall


def long_operation_figures() -> None:
    minutes = 10
    print(
        f"\ndeploy.py alone, a simulated {minutes}-minute stack operation (fake clock shared by deploy.py and the proxy)"
    )
    print(f"  {'poll settings':<36} {'detection lag':>13} {'CFN calls':>10} {'calls/s':>8} {'wall':>6}")
    settings = [
        (f"defaults ({DEFAULT_FIRST_INTERVAL:g} s to {DEFAULT_MAX_INTERVAL:g} s)", []),
        ("--max-poll-interval 6", ["--max-poll-interval", "6"]),
        ("--max-poll-interval 8", ["--max-poll-interval", "8"]),
    ]
    for i, (label, extra) in enumerate(settings):
        lag, calls, rate, wall = simulated_long_operation(f"bench-long-{i}", minutes * 60.0, extra)
        print(f"  {label:<36} {lag:>12.1f}s {calls:>10} {rate:>8.3f} {wall:>5.1f}s")


if __name__ == "__main__":
    moto_figures()
    side_by_side(3.0, 20.0)
    long_operation_figures()

"""Figures for `deploy.py manifest`: 20 stacks through a slow, throttling proxy, 5 in parallel vs one by one.

Run: .venv/bin/python benchmarks/manifest_benchmark.py   (moto and the proxy on 127.0.0.1; no AWS account)

Times are scaled down by 10 from AWS's order of magnitude (3 s per change set, 20 s per stack becomes 0.3 s and
2 s), and so are the poll intervals (first 0.2 s, at most 1 s); the proxy throttles above a per-account rate.
The sequential loop calls `deploy.py deploy` in this process, so it pays no interpreter start-up: the comparison
is stricter than a shell loop. Preflight is skipped on both sides (it reads other services, not CloudFormation).
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from throttling_proxy import SlowProxy, SlowState  # noqa: E402

from deployer import cli  # noqa: E402
from emulator.server import dummy_aws_env, running_moto_server  # noqa: E402

STACKS = 20
PARALLEL = 5
CHANGE_SET_SECONDS = 0.3
STACK_SECONDS = 2.0
# Polls come 10 times as often as on AWS (the intervals are scaled with the times), so the account's limit is
# scaled the same way: 40 calls/s here stands for an assumed 4 calls/s per account at AWS pace.
PROXY_CALLS_PER_SECOND = 40
# The manifest's budget: rate plus burst stay within the limit in any one-second window.
BUDGET_CALLS_PER_SECOND = 30
BUDGET_BURST = 10
POLLING = ["--poll-interval", "0.2", "--max-poll-interval", "1", "--timeout", "5m"]


def template(i: int, run: str) -> dict[str, object]:
    return {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"bench-{run}-{i}"}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"bench-{run}-{i}"}},
        }
    }


def write_inputs(folder: Path, run: str, budget: float) -> Path:
    lines = [
        "[settings]",
        f"calls_per_second = {budget}",
        f"burst = {BUDGET_BURST}",
        "",
        "[defaults]",
        'region = "us-east-1"',
        "preflight = false",
    ]
    for i in range(STACKS):
        (folder / f"{run}-{i}.json").write_text(json.dumps(template(i, run)), encoding="utf-8")
        lines += ["", f"[stacks.{run}-{i:02d}]", f'template = "{run}-{i}.json"']
    path = folder / f"{run}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def quiet_env() -> cli.Environment:
    return cli.Environment(
        stdout=io.StringIO(), stderr=io.StringIO(), stdout_is_tty=False, stdin_is_tty=False
    )


def measure(label: str, state: SlowState, run: object) -> None:
    state.figures.requests.clear()
    state.figures.throttled = 0
    started = time.perf_counter()
    failures = run()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    calls = sum(state.figures.requests.values())
    print(f"  {label:<44} {seconds:>7.1f} s {calls:>6} {state.figures.throttled:>9} {failures:>8}")
    RESULTS[label] = seconds


RESULTS: dict[str, float] = {}


def main() -> None:
    print(f"{STACKS} stacks; change set {CHANGE_SET_SECONDS} s, stack {STACK_SECONDS} s (AWS times / 10);")
    print(
        f"the proxy throttles above {PROXY_CALLS_PER_SECOND} calls/s per account (an assumed 4/s at AWS pace, scaled "
        f"like the polls); the manifest's budget: {BUDGET_CALLS_PER_SECOND}/s, burst {BUDGET_BURST}"
    )
    print(f"  {'run':<44} {'wall':>9} {'calls':>6} {'throttled':>9} {'failures':>8}")
    with tempfile.TemporaryDirectory() as tmp, dummy_aws_env(), running_moto_server() as moto:
        folder = Path(tmp)
        state = SlowState(CHANGE_SET_SECONDS, STACK_SECONDS, PROXY_CALLS_PER_SECOND)
        with SlowProxy(moto.endpoint, state) as proxy:

            def sequential() -> int:
                failures = 0
                for i in range(STACKS):
                    args = [
                        "deploy",
                        "--stack-name",
                        f"seq-{i:02d}",
                        "--template-file",
                        str(folder / f"seq-{i}.json"),
                    ]
                    code = cli.main(
                        [*args, "--skip-preflight", "--endpoint-url", proxy.endpoint, *POLLING], quiet_env()
                    )
                    failures += code != 0
                return failures

            def manifest(path: Path) -> int:
                env = quiet_env()
                code = cli.main(
                    [
                        "manifest",
                        "deploy",
                        str(path),
                        "--max-parallel",
                        str(PARALLEL),
                        "--endpoint-url",
                        proxy.endpoint,
                        *POLLING,
                    ],
                    env,
                )
                out = env.stdout.getvalue()  # type: ignore[attr-defined]
                return 0 if code == 0 else sum(" failed " in line for line in out.splitlines())

            write_inputs(folder, "seq", BUDGET_CALLS_PER_SECOND)
            shared = write_inputs(folder, "fleet", BUDGET_CALLS_PER_SECOND)
            unpaced = write_inputs(folder, "free", 1000)
            measure("sequential loop of deploy.py deploy", state, sequential)
            measure(f"manifest, {PARALLEL} in parallel, shared budget", state, lambda: manifest(shared))
            measure(f"manifest, {PARALLEL} in parallel, no budget (1000/s)", state, lambda: manifest(unpaced))
    ratio = (
        RESULTS[f"manifest, {PARALLEL} in parallel, shared budget"]
        / RESULTS["sequential loop of deploy.py deploy"]
    )
    print(f"manifest / sequential wall time: {ratio:.2f} (goal <= 0.25)")


if __name__ == "__main__":
    main()

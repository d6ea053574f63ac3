"""Preflight of output/tap-stack.json when every AWS round trip takes 150 ms longer, one by one and concurrently.

Run: .venv/bin/python benchmarks/preflight_latency_benchmark.py [--latency-ms 150]
(starts moto on 127.0.0.1; no AWS account, no assertions)

moto answers in about a millisecond, while a real region is tens to hundreds of milliseconds away: a botocore
`before-send` hook on every client sleeps before each request goes out, so the figures show what the check
threads (deployer.preflight.runner.MAX_THREADS) save when the calls are slow. The same checks run once with one
thread and once with the default pool; the findings are the same, in the same order, both times.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deployer.clients import ClientFactory, ClientSettings  # noqa: E402
from deployer.inputs import load_template  # noqa: E402
from deployer.preflight import runner  # noqa: E402
from emulator.server import REGION, dummy_aws_env, running_moto_server  # noqa: E402

TEMPLATE = ROOT / "output" / "tap-stack.json"


def slow_clients(factory: ClientFactory, latency: float) -> Any:
    """factory.client, with every request of every client delayed by `latency` seconds."""

    def delay(**_: Any) -> None:
        time.sleep(latency)  # returning None lets botocore send the request as usual

    def make(service: str) -> Any:
        client = factory.client(service)
        client.meta.events.register("before-send.*.*", delay)
        return client

    return make


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latency-ms", type=float, default=150.0, help="added to each round trip (default 150)"
    )
    latency = parser.parse_args().latency_ms / 1000
    template = load_template(TEMPLATE)
    with dummy_aws_env(), running_moto_server() as server:
        # One attempt per call: what moto does not implement answers 500, and retry back-off is not the point here.
        factory = ClientFactory(ClientSettings(endpoint_url=server.endpoint, max_attempts=1))
        print(
            f"preflight of {TEMPLATE.relative_to(ROOT)} (deploy's read-only checks), +{latency * 1000:.0f} ms per call"
        )
        seen = []
        for threads in (1, runner.MAX_THREADS):
            runner.MAX_THREADS = threads
            ctx = runner.make_context(slow_clients(factory, latency), template.doc, {}, None, REGION)
            start = time.perf_counter()
            report = runner.run_checks(ctx)
            elapsed = time.perf_counter() - start
            seen.append([(f.check, f.status, f.message) for f in report.findings])
            print(f"  {threads} thread(s): {elapsed:6.2f} s wall time, {len(ctx.calls)} API calls")
        print(f"  {report.summary()}")
        print(f"  same findings in the same order: {'yes' if seen[0] == seen[1] else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

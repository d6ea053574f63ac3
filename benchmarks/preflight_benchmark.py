"""Figures for `deploy.py preflight`: wall time and API calls against moto, for the generated stack.

Run: .venv/bin/python benchmarks/preflight_benchmark.py   (starts moto on 127.0.0.1; no AWS account, no assertions)

Two runs: the read-only checks deploy and plan pass first, and the full preflight with the online validation.
moto does not implement DescribeEvents, ListHookResults, GetEbsDefaultKmsKeyId nor every quota: those answer 500,
so one attempt per call (--max-attempts 1) keeps retry back-off out of the figures.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deployer.changeset import request_for  # noqa: E402
from deployer.clients import ClientFactory, ClientSettings  # noqa: E402
from deployer.inputs import load_template  # noqa: E402
from deployer.options import DeployOptions  # noqa: E402
from deployer.preflight.online import ChangeSetInputs, new_name  # noqa: E402
from deployer.preflight.runner import make_context, run_checks  # noqa: E402
from deployer.upload import upload_template  # noqa: E402
from deployer.waiting import Pacer  # noqa: E402
from emulator.server import REGION, dummy_aws_env, running_moto_server  # noqa: E402

TEMPLATE = ROOT / "output" / "tap-stack.json"
BUCKET = "preflight-benchmark-templates"


def main() -> int:
    template = load_template(TEMPLATE)
    with dummy_aws_env(), running_moto_server() as server:
        # moto serves TemplateURL uploads only from a "localhost" URL (emulator/gaps.py).
        factory = ClientFactory(
            ClientSettings(endpoint_url=f"http://localhost:{server.port}", max_attempts=1)
        )
        factory.s3().create_bucket(Bucket=BUCKET)
        for online in (False, True):
            ctx = make_context(factory.client, template.doc, {}, None, REGION)
            inputs = None
            if online:
                pacer = Pacer(time.sleep, time.monotonic, 60, 0.05, 0.2)
                opts = DeployOptions("preflight-benchmark", template, capabilities=["CAPABILITY_IAM"])
                inputs = ChangeSetInputs(
                    request_for(opts, "CREATE", [], new_name()),
                    template_url=lambda: upload_template(factory.s3(), template.body, BUCKET, None),
                    pacer=pacer,
                )
            start = time.perf_counter()
            report = run_checks(ctx, inputs)
            elapsed = time.perf_counter() - start
            calls = Counter(ctx.calls)
            label = (
                "full preflight (online validation included)"
                if online
                else "read-only checks (deploy's gate)"
            )
            print(f"{label}: {elapsed:.2f} s wall time, {sum(calls.values())} API calls")
            for name, count in sorted(calls.items()):
                print(f"  {count:>3}  {name}")
            print(f"  {report.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

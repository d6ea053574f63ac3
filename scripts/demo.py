"""Try the deploy flow without AWS: start moto's server on 127.0.0.1, deploy output/tap-stack.json with deploy.py,
print the stack's outputs and resources, delete the stack, stop the emulator.

    make demo            (or: .venv/bin/python scripts/demo.py)

Nothing leaves this machine: the emulator listens on loopback only and uses dummy credentials.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

import deploy  # noqa: E402
from emulator.server import REGION, dummy_aws_env, running_moto_server  # noqa: E402

STACK = "tap-demo"
BUCKET = "tap-demo-templates"
TEMPLATE = ROOT / "output" / "tap-stack.json"
PARAMETERS = ROOT / "output" / "tap-stack.dev.parameters.json"


def run_demo() -> int:
    # moto announces each resource type it does not build; emulator/gaps.py lists them.
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    if not TEMPLATE.exists():
        print(f"error: {TEMPLATE.relative_to(ROOT)} is missing: run `make generate` first", file=sys.stderr)
        return 2
    with dummy_aws_env(), running_moto_server() as moto, tempfile.TemporaryDirectory() as tmp:
        # moto serves uploaded templates only through a URL whose host is "localhost" (emulator/gaps.py).
        endpoint = f"http://localhost:{moto.port}"
        print(f"AWS emulator (moto) listening on {moto.endpoint}\n")
        boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        outputs_file = Path(tmp) / "outputs.json"
        connection = ["--region", REGION, "--endpoint-url", endpoint]
        code = deploy.main(
            [
                "deploy",
                *connection,
                "--stack-name",
                STACK,
                "--template-file",
                str(TEMPLATE),
                "--parameters-file",
                str(PARAMETERS),
                "--capabilities",
                "CAPABILITY_IAM",
                "--s3-bucket",
                BUCKET,
                "--outputs-file",
                str(outputs_file),
                "--require-approval",  # a demo with nobody to review the IAM and security-group rules it creates
                "never",
                "--poll-interval",
                "0.2",
                "--yes",
            ]
        )
        if code != 0:
            print(f"\ndeploy.py exited {code}", file=sys.stderr)
            return code
        outputs = json.loads(outputs_file.read_text())
        print(f"\n{len(outputs)} outputs; a CI step would read them from the --outputs-file JSON.")
        print("Running the same command again would report no changes; deleting the demo stack now.\n")
        code = deploy.main(["delete", *connection, "--stack-name", STACK, "--yes", "--poll-interval", "0.2"])
        print("\nStopping the emulator.")
        return code


if __name__ == "__main__":
    sys.exit(run_demo())

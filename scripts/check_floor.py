"""Check that the lower bounds in pyproject.toml are honest: install exactly those versions and use them.

With troposphere, awacs and cfn-lint at their floors, `generate.py --check` must build every template to the
very bytes committed in output/ and lint it clean (cfn-lint before 1.53.1 rejects Tags on listeners, before
1.52 also on the dashboard; troposphere before 4.11 has no Tags on listeners). With boto3 at its floor, the
deployer must import and botocore's CloudFormation model must have every paginator and API member it uses.

The virtualenv is cached under the system temp folder, keyed by the pinned versions and the Python version, so
only the first run installs anything (from the package index pip is configured with).

    python scripts/check_floor.py          # exit 0 when every floor works, 1 otherwise
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORED = ("troposphere", "awacs", "boto3", "botocore", "cfn-lint")

# Run inside the floor virtualenv: the deployer imports, and botocore knows what it calls.
BOTO_CHECK = """
import re, sys
from pathlib import Path
import boto3
import deployer.cli  # noqa: F401  (imports every deployer module)
client = boto3.client("cloudformation", region_name="us-east-1")
model = client.meta.service_model
source = "\\n".join(p.read_text() for p in Path("deployer").glob("*.py"))
# Paginators of the other services deploy.py reads (deployer/importing.py: log groups) count too.
from botocore import xform_name
others = [boto3.client(s, region_name="us-east-1") for s in ("logs",)]
def paginates(c, n):  # can_paginate raises KeyError for an operation the service does not have
    return n in {xform_name(o) for o in c.meta.service_model.operation_names} and c.can_paginate(n)
problems = [f"no paginator {n}" for n in set(re.findall(r'get_paginator\\("(\\w+)"\\)', source))
            if not any(paginates(c, n) for c in (client, *others))]
for operation, member in (("DescribeChangeSet", "IncludePropertyValues"), ("CreateChangeSet", "ClientToken"),
                          ("ExecuteChangeSet", "DisableRollback"), ("DeleteStack", "RetainResources")):
    if member not in model.operation_model(operation).input_shape.members:
        problems.append(f"{operation} has no {member}")
from deployer import features
problems += [f"botocore lacks {f.label}" for f in vars(features).values()
             if isinstance(f, features.Feature) and not features.supported(f)]
print("\\n".join(problems) or f"boto3 {boto3.__version__}: every API member the deployer uses exists")
sys.exit(1 if problems else 0)
"""


def floors(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Package -> the lower bound its dependency line declares (">=X")."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for requirement in data["project"]["dependencies"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?", requirement)
        if match and match.group(1).lower() in FLOORED:
            found[match.group(1).lower()] = match.group(2)
    missing = [name for name in FLOORED if name not in found]
    if missing:
        raise SystemExit(f"pyproject.toml: no '>=' lower bound for {', '.join(missing)}")
    return found


def floor_venv(pins: dict[str, str]) -> Path:
    """A virtualenv with exactly these versions, built once and reused while the pins stay the same."""
    spec = sorted(f"{name}=={version}" for name, version in pins.items())
    key = hashlib.sha256(" ".join([sys.version, *spec]).encode()).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"tap-stack-floor-{key}"
    python = venv / "bin" / "python"
    if python.exists():
        return venv
    building = venv.with_name(venv.name + f".building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
    pip = [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, *spec], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"installing {' '.join(spec)} failed:\n{done.stdout}{done.stderr}")
    # Built under a temporary name and renamed whole, so an interrupted build is never taken for a finished one
    # (only bin/python is used, and it does not depend on the folder's name).
    try:
        building.rename(venv)
    except OSError:  # another run finished the same venv first
        shutil.rmtree(building, ignore_errors=True)
    return venv


def run_checks(venv: Path) -> int:
    python = str(venv / "bin" / "python")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    failed = 0
    for what, command in (
        ("generate.py --check", [python, "generate.py", "--check"]),
        ("deployer against boto3", [python, "-c", BOTO_CHECK]),
    ):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        print(f"== {what}: exit {done.returncode}\n{done.stdout}{done.stderr}", end="")
        failed |= done.returncode != 0
    return 1 if failed else 0


def main() -> int:
    pins = floors()
    print("floors: " + ", ".join(f"{name}=={version}" for name, version in sorted(pins.items())))
    return run_checks(floor_venv(pins))


if __name__ == "__main__":
    sys.exit(main())

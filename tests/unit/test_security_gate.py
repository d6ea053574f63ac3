"""Security gate: checkov (CloudFormation framework, offline) finds no failed check in any template in output/.

checkov calls home by default: for its check-id mappings (api0.prismacloud.io) and, when its banner is
imported, for a newer version on PyPI. The environment below switches both off, and no API key is passed, so
the scan runs offline in a few seconds. Proxy variables point any remaining request at a closed local port,
and a timeout turns anything else that waits into a failure instead of a hang.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import generate
from templates import REGISTRY

OUTPUT = Path(generate.__file__).resolve().parent / "output"
TIMEOUT_SECONDS = 120
OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",  # no download of check-id mappings and guidelines
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",  # no PyPI version check
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",  # no package scanning (needs the platform)
    # Any request that still tries the network goes to a closed local port and fails at once: the gate
    # stays offline by construction, not only by the switches above.
    **{name: "http://127.0.0.1:9" for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")},
    "NO_PROXY": "",
    "no_proxy": "",
}
PLATFORM_VARIABLES = ("BC_API_KEY", "PRISMA_API_URL", "BC_API_URL")


def checkov(template: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES} | OFFLINE_ENV
    command = [
        sys.executable,
        "-m",
        "checkov.main",
        "--file",
        str(template),
        "--framework",
        "cloudformation",
        "--skip-download",
        "--quiet",
        "--compact",
        "--output",
        "json",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=TIMEOUT_SECONDS, check=False
    )
    assert done.returncode in (0, 1), f"checkov exited {done.returncode}:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    assert isinstance(report, dict), f"expected one cloudformation report, got {report!r:.500}"
    return report


def failures(report: dict[str, Any]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_checkov_reports_no_failed_checks(name: str) -> None:
    template = OUTPUT / f"{name}.json"
    assert template.is_file(), f"{template} is missing: run generate.py"
    report = checkov(template)
    summary = report.get("summary", report)
    assert summary["parsing_errors"] == 0, summary
    assert summary["passed"] > 0, f"checkov evaluated nothing in {template}: {summary}"
    # Every resource was read: a construct checkov cannot parse would drop its resource silently.
    assert summary["resource_count"] == len(json.loads(template.read_text(encoding="utf-8"))["Resources"]), (
        summary
    )
    found = failures(report)
    assert not found, f"checkov failed {len(found)} check(s) in {template.name}:\n" + "\n".join(found)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_checkov_skip_gives_a_reason(name: str) -> None:
    t = json.loads((OUTPUT / f"{name}.json").read_text(encoding="utf-8"))
    vague = [
        f"{logical_id}: {skip.get('id')}"
        for logical_id, resource in t["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        if len(str(skip.get("comment", "")).split()) < 5
    ]
    assert not vague, "each checkov skip needs a comment a reviewer can judge: " + ", ".join(vague)


def test_gate_catches_a_failing_template(tmp_path: Path) -> None:
    """The gate is not vacuous: an unencrypted, unversioned bucket fails named checks."""
    template = tmp_path / "bad.json"
    template.write_text(json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}}))
    found = failures(checkov(template))
    assert any(f.startswith("CKV_AWS_21 AWS::S3::Bucket.Bucket:") for f in found), found

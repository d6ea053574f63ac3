"""A preflight check is registered once (deployer.preflight.catalogue.CHECKS): function, order and --help together."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from deployer.arguments import build_parser
from deployer.preflight import catalogue, online
from deployer.preflight.catalogue import CHECKS, Check
from deployer.preflight.context import PreflightContext
from deployer.preflight.model import Finding, Status
from deployer.preflight.runner import run_checks
from tests.deploy._preflight import stubbed_context

pytestmark = pytest.mark.deploy


def fake(name: str, delay: float = 0.0, calls: list[str] | None = None) -> Any:
    def run(ctx: PreflightContext, *inputs: object) -> list[Finding]:
        time.sleep(delay)  # finishing out of order must not reorder the report
        if calls is not None:
            calls.append(threading.current_thread().name)
        return [Finding(name, Status.PASS, f"{name} first"), Finding(name, Status.INFO, f"{name} second")]

    return run


def registry(*names: str, delays: dict[str, float] | None = None, calls: list[str] | None = None) -> tuple:
    return tuple(
        Check(name, fake(name, (delays or {}).get(name, 0.0), calls), f"looks at {name}", f"fix {name}")
        for name in names
    )


def test_a_check_added_to_the_registry_runs_in_its_place_and_is_in_the_help(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalogue, "CHECKS", registry("alpha", "added", "omega"))
    with stubbed_context() as (ctx, _):
        report = run_checks(ctx)
    assert [f.check for f in report.findings] == ["alpha"] * 2 + ["added"] * 2 + ["omega"] * 2
    text = catalogue.help_text()
    assert "  added  looks at added" in text and "fix: fix added" in text
    assert text.index("alpha") < text.index("added") < text.index("omega")


def test_findings_keep_the_registry_order_whichever_check_finishes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    names = tuple(f"check-{i}" for i in range(10))
    delays = {name: 0.05 * (len(names) - i) for i, name in enumerate(names)}  # the last finishes first
    monkeypatch.setattr(catalogue, "CHECKS", registry(*names, delays=delays, calls=calls))
    with stubbed_context() as (ctx, _):
        report = run_checks(ctx)
    assert [f.message for f in report.findings] == [m for n in names for m in (f"{n} first", f"{n} second")]
    assert all(name.startswith("preflight") for name in calls)  # the pool's threads, not the caller's


def test_an_online_check_runs_only_with_change_set_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    got: list[object] = []

    def needs_inputs(ctx: PreflightContext, inputs: object) -> list[Finding]:
        got.append(inputs)
        return [Finding("net", Status.PASS, "validated")]

    checks = (*registry("local"), Check("net", needs_inputs, "online", "fix", online=True))
    monkeypatch.setattr(catalogue, "CHECKS", checks)
    with stubbed_context() as (ctx, _):
        assert [f.check for f in run_checks(ctx).findings] == ["local", "local"]
        inputs: Any = object()
        assert [f.check for f in run_checks(ctx, inputs).findings] == ["local", "local", "net"]
    assert got == [inputs]
    assert "every check but net before" in catalogue.help_text()


def test_the_registry_names_are_unique_and_each_has_help() -> None:
    names = [check.name for check in CHECKS]
    assert len(names) == len(set(names))
    assert all(check.what and check.fix for check in CHECKS)
    assert [check.name for check in CHECKS if check.online] == [online.CHECK]
    # A name without a function reports through the function of an earlier entry (kms-policy: check_kms).
    assert CHECKS[0].run is not None


def test_preflight_help_lists_every_registered_check() -> None:
    sub: Any = next(a for a in build_parser()._actions if a.dest == "command")
    text = sub.choices["preflight"].format_help()
    for check in CHECKS:
        assert f"  {check.name}  " in text


def reference() -> str:
    return (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")


def test_the_reference_lists_the_registered_checks_in_their_order() -> None:
    rows = [line.split("`")[1] for line in reference().splitlines() if line.startswith("| `")]
    names = [check.name for check in CHECKS]
    assert [row for row in rows if row in names] == names


def cli_lines(text: str) -> list[str]:
    """The lines of the reference's AWS CLI block of the preflight checks."""
    after = text.split("Without Python, the same questions can be asked with the AWS CLI", 1)[1]
    return after.split("```sh\n", 1)[1].split("\n```", 1)[0].splitlines()


def test_the_references_aws_cli_block_asks_each_registered_check_once_in_its_order() -> None:
    lines = cli_lines(reference())
    # Each line ends with a comment naming its check: "aws ec2 describe-availability-zones ...  # availability-zones"
    named = [re.search(r"\s#\s+([a-z0-9-]+)[^#]*$", line) for line in lines]
    assert all(named), [line for line, match in zip(lines, named, strict=True) if not match]
    assert [match.group(1) for match in named if match] == [check.name for check in CHECKS]

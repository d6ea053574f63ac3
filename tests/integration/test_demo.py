"""The README's "Try the deploy flow without AWS" command works on the generated template."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


def test_demo_deploys_prints_outputs_and_deletes_the_stack(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    assert spec and spec.loader
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)

    assert demo.run_demo() == 0
    out = capsys.readouterr().out
    assert "Stack tap-demo: CREATE_COMPLETE" in out
    assert "VpcId = vpc-" in out
    assert "Stack tap-demo deleted" in out
    assert "AWS emulator (moto) listening on http://127.0.0.1:" in out

"""The CLI's interface: every exit code is documented in --help and docs/deploy.md; durations parse."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import deploy
from deployer.arguments import build_parser
from deployer.durations import parse_duration
from deployer.errors import EXIT_CODE_HELP, ExitCode

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_exit_code_has_help_text() -> None:
    assert set(EXIT_CODE_HELP) == set(ExitCode)


def test_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(["--help"]) == 0
    text = capsys.readouterr().out
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s", text, re.MULTILINE), code


def test_reference_documents_every_exit_code_subcommand_and_option() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} |" in text, code
    parser = build_parser()
    subparsers: dict[str, argparse.ArgumentParser] = next(
        a for a in parser._actions if a.dest == "command"
    ).choices  # type: ignore[assignment]
    for name, sub in subparsers.items():
        assert f"`{name}`" in text, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in text, f"{name} {flag}"


def test_readme_lists_the_same_exit_codes() -> None:
    text = README.read_text(encoding="utf-8")
    listed = {int(m) for m in re.findall(r"^\| (\d+) \|", text, re.MULTILINE)}
    assert listed == {int(code) for code in ExitCode}


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("5", 300), ("0.5m", 30)]
)
def test_timeout_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds

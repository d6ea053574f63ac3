"""deploy.py --help lists its exit codes as a reader scans them: in numeric order, 8 named as review mode."""

from __future__ import annotations

import re

import pytest

import deploy


def exit_code_lines(capsys: pytest.CaptureFixture[str]) -> dict[int, str]:
    assert deploy.main(["--help"]) == 0
    text = capsys.readouterr().out
    section = text.split("exit codes:", 1)[1]
    # Continuation lines are folded into the code above them.
    lines: dict[int, str] = {}
    order: list[int] = []
    for line in section.splitlines():
        match = re.match(r"^\s+(\d+)\s+(.*)$", line)
        if match:
            order.append(int(match[1]))
            lines[order[-1]] = match[2]
        elif order and line.strip():
            lines[order[-1]] += " " + line.strip()
    assert order == list(lines), order
    return lines


def test_help_lists_exit_codes_in_numeric_order(capsys: pytest.CaptureFixture[str]) -> None:
    codes = list(exit_code_lines(capsys))
    assert codes == sorted(codes), codes


def test_help_says_8_is_review_mode_and_0_is_not(capsys: pytest.CaptureFixture[str]) -> None:
    lines = exit_code_lines(capsys)
    assert lines[8].startswith("review mode"), lines[8]
    assert "review mode" not in lines[0], lines[0]

"""README.md's parameter table against the generated template: one row per parameter, with its default."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(?P<name>[A-Za-z0-9]+)` \| (?P<default>[^|]+) \| (?P<meaning>.+) \|$")


def readme_rows() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Parameters\n", 1)[1].split("\n#", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            match = ROW.match(line)
            assert match, f"README parameter row not in the form | `Name` | default | meaning |: {line}"
            assert match["name"] not in rows, f"{match['name']} has two rows"
            rows[match["name"]] = (match["default"].strip(), match["meaning"])
    return rows


def template_parameters() -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = json.loads((ROOT / "output" / "tap-stack.json").read_text())[
        "Parameters"
    ]
    return params


def test_every_parameter_has_one_row_and_no_row_names_another() -> None:
    assert sorted(readme_rows()) == sorted(template_parameters())


@pytest.mark.parametrize("name", sorted(template_parameters()))
def test_the_row_shows_the_template_default(name: str) -> None:
    default = str(template_parameters()[name]["Default"])
    shown = readme_rows()[name][0]
    assert shown == ("empty" if default == "" else default) or shown == f"`{default}`", (name, shown, default)


def whole_number_range(spec: dict[str, Any]) -> tuple[int, int] | None:
    """(lowest, highest) when the AllowedValues are every whole number between them."""
    values = [str(v) for v in spec.get("AllowedValues", [])]
    if not values or not all(v.isdigit() for v in values):
        return None
    numbers = sorted(int(v) for v in values)
    return (numbers[0], numbers[-1]) if numbers == list(range(numbers[0], numbers[-1] + 1)) else None


@pytest.mark.parametrize(
    "name", [n for n, s in sorted(template_parameters().items()) if whole_number_range(s)]
)
def test_a_whole_number_range_is_stated_as_the_template_allows_it(name: str) -> None:
    low_high = whole_number_range(template_parameters()[name])
    assert low_high is not None
    assert f"{low_high[0]}-{low_high[1]}" in readme_rows()[name][1]

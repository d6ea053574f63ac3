"""Small Markdown helpers: code spans and table cells that survive any content."""

from __future__ import annotations

import re
from collections.abc import Sequence


def code(text: object) -> str:
    """An inline code span for any text, backticks included."""
    s = str(text)
    if s == "":
        return '`""` (empty)'
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or longest else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def cell(text: object) -> str:
    # GitHub Markdown ends a table cell at any unescaped pipe, even inside a code span.
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def fenced(language: str, body: str) -> list[str]:
    return [f"```{language}", *body.rstrip("\n").split("\n"), "```"]

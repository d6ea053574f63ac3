"""The fenced shell blocks of a hand-off page, in order, with the not-rehearsable marks the page puts on them.

Shared by the unit tests of the page and the integration test that runs its blocks with the AWS CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = re.compile(r"^<!-- not-rehearsable: (?P<reason>.+?) -->$")
# A block for when it is needed (the incident section): a separate test runs it, not the in-order rehearsal.
OUT_OF_ORDER = re.compile(r"^<!-- out-of-order: (?P<reason>.+?) -->$")
VARIABLES_MARKER = "VARIABLES_OK="
FENCE = re.compile(r"^```(?P<language>\w*)$")
ASSIGNMENT = re.compile(r"(?:^|[;\s(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")
LOOP = re.compile(r"\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b")
REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
SINGLE_QUOTED = re.compile(r"'[^']*'")


@dataclass(frozen=True)
class Block:
    index: int
    line: int  # 1-based line of the opening fence
    language: str
    body: str
    not_rehearsable: str | None  # the reason, when the page marks the block
    out_of_order: str | None = None  # the reason, when the page keeps it out of the top-to-bottom path

    @property
    def is_shell(self) -> bool:
        return self.language in ("sh", "bash", "shell")


def blocks(page: str) -> list[Block]:
    found: list[Block] = []
    lines = page.split("\n")
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening:
            start = i
            i += 1
            body = []
            while i < len(lines) and lines[i] != "```":
                body.append(lines[i])
                i += 1
            mark = MARK.match(lines[start - 1]) if start else None
            aside = OUT_OF_ORDER.match(lines[start - 1]) if start else None
            found.append(
                Block(
                    len(found),
                    start + 1,
                    opening.group("language"),
                    "\n".join(body),
                    mark.group("reason") if mark else None,
                    aside.group("reason") if aside else None,
                )
            )
        i += 1
    return found


def shell_blocks(page: str) -> list[Block]:
    return [b for b in blocks(page) if b.is_shell]


def variables_block(found: list[Block]) -> Block:
    """The block every other one runs after: the one that sets the shell variables."""
    (block,) = [b for b in found if VARIABLES_MARKER in b.body]
    return block


def _code(body: str) -> str:
    """The block without comments and single-quoted text (jq and JMESPath use $ for their own variables)."""
    without_comments = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in body.split("\n"))
    return SINGLE_QUOTED.sub("''", without_comments)


def assigned(body: str) -> set[str]:
    text = _code(body)
    return set(ASSIGNMENT.findall(text)) | set(LOOP.findall(text))


def referenced(body: str) -> set[str]:
    return set(REFERENCE.findall(_code(body)))

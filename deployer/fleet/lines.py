"""Line numbers for TOML tables and keys: tomllib gives values without positions, so errors find them in the text."""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r'^\s*("[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)\s*(?:=|\.)')
_PART = re.compile(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)')


def split_dotted(text: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _PART.findall(text))


class LineFinder:
    """Finds the line of `[a.b]` or of `key` inside it; falls back to the nearest enclosing table, then line 1."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def table(self, path: tuple[str, ...]) -> int | None:
        for number, line in enumerate(self._lines, start=1):
            match = _HEADER.match(line)
            if match and split_dotted(match.group(1)) == path:
                return number
        return None

    def key(self, path: tuple[str, ...], key: str | None = None) -> int:
        """The line of `key` in table `path` (or of the table itself when key is None)."""
        for depth in range(len(path), 0, -1):
            start = self.table(path[:depth])
            if start is None:
                continue
            if key is None and depth == len(path):
                return start
            wanted = path[depth] if depth < len(path) else key
            assert wanted is not None
            found = self._key_in_table(start, wanted)
            if found:
                return found
            return start
        return self._anywhere(key or (path[-1] if path else "")) or 1

    def _key_in_table(self, start: int, key: str) -> int | None:
        for number in range(start + 1, len(self._lines) + 1):
            line = self._lines[number - 1]
            if _HEADER.match(line):
                return None
            match = _KEY.match(line)
            if match and split_dotted(match.group(1)) == (key,):
                return number
        return None

    def _anywhere(self, key: str) -> int | None:
        for number, line in enumerate(self._lines, start=1):
            if re.search(rf"(^|[\s.\[\"']){re.escape(key)}([\s.\]\"'=]|$)", line):
                return number
        return None

    @property
    def last(self) -> int:
        return max(len(self._lines), 1)

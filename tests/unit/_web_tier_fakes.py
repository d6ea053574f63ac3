"""What CloudFormation's Fn::Sub makes of a pattern, for reading the boot script and the dashboard body."""

from __future__ import annotations

import re


def cfn_substitute(pattern: str, values: dict[str, str] | None = None) -> str:
    """What CloudFormation's Fn::Sub makes of a pattern: `${!x}` becomes `${x}`, `${name}` its value."""
    values = values or {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        return values.get(name, f"sub-{name.replace(':', '-').replace('.', '-')}")

    return re.sub(r"\$\{([^}]*)\}", replace, pattern)


def sub_names(pattern: str) -> set[str]:
    """The names a Sub pattern substitutes (escaped `${!x}` excluded)."""
    return {name for name in re.findall(r"\$\{([^}]*)\}", pattern) if not name.startswith("!")}

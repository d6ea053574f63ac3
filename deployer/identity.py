"""Refuse, before any change set, a parameter change the deployed stack cannot take (it needs a new stack).

Which changes those are comes from cfnspec.update_outcomes, the source of the ops page's update table too.
The deployed values come from DescribeStacks; a parameter left at UsePreviousValue keeps its value. No flag
overrides the refusal: `--allow-replacement` accepts losing data, it cannot make AWS accept the update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cfnspec.update_outcomes import NEW_STACK_SECTION, Outcome, ParameterOutcome, update_outcomes
from deployer.errors import BadInput
from deployer.inputs import Template

MASKED = "****"  # a NoEcho value as DescribeStacks shows it: unknown, so never taken as changed


def changed_values(
    stack: Mapping[str, Any], parameters: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[str, str]]:
    """Parameter -> (deployed value, new value), for every given value that differs from the deployed one."""
    deployed = {
        str(p["ParameterKey"]): str(p.get("ParameterValue", "")) for p in stack.get("Parameters") or []
    }
    changed = {}
    for entry in parameters:
        name = str(entry.get("ParameterKey", ""))
        if entry.get("UsePreviousValue") or name not in deployed or deployed[name] == MASKED:
            continue
        new = str(entry.get("ParameterValue", ""))
        if new != deployed[name]:
            changed[name] = (deployed[name], new)
    return changed


def ops_page(template_path: Path) -> str:
    """Where generate.py writes the stack's ops page: next to the template, as NAME.md."""
    page = template_path.with_suffix(".md")
    return str(page) if page.exists() else f"output/{page.name}"


def refusal(
    stack_name: str,
    changed: Mapping[str, tuple[str, str]],
    needing: Mapping[str, ParameterOutcome],
    page: str,
) -> BadInput:
    first, *more = needing
    before, after = changed[first]
    failure = needing[first].failures[0]
    also = f" (and {', '.join(more)})" if more else ""
    return BadInput(
        f"{first}{also} cannot change on the deployed stack {stack_name} ({before!r} -> {after!r}): the update "
        f"would fail at {failure.logical_id}: {failure.reason}; nothing was changed",
        hint=f'create a new stack with the new value instead (blue/green), as "{NEW_STACK_SECTION}" in {page} '
        f"describes, or keep the deployed value ({' '.join(f'{n}={changed[n][0]}' for n in needing)})",
    )


def refuse_new_stack_changes(
    template: Template, stack: Mapping[str, Any] | None, parameters: Sequence[Mapping[str, Any]]
) -> None:
    """For an update (`stack` is the deployed stack; None for a create): raise BadInput when a parameter whose
    change needs a new stack changes."""
    if stack is None:
        return
    changed = changed_values(stack, parameters)
    if not changed:
        return
    outcomes = update_outcomes(template.doc)
    needing = {n: outcomes[n] for n in changed if n in outcomes and outcomes[n].outcome is Outcome.NEW_STACK}
    if needing:
        raise refusal(str(stack.get("StackName", "")), changed, needing, ops_page(template.path))

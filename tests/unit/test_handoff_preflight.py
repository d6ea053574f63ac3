"""The page's Account checks follow the preflight registry: every registered check, in its order, with the AWS CLI
commands that ask its question or the reason there are none, and each named command is on the page."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import xform_name

from cfnspec.resource_kinds import NAME_LISTS
from deployer.preflight import catalogue, leftovers, lookups
from deployer.preflight.catalogue import CHECKS, Check
from generator import preflight_checks
from generator.preflight_checks import CLI_COMMANDS, NO_CLI, NOTHING_HERE, UnlistedCheck
from generator.preflight_cli import checks_section
from tests.handoff_blocks import shell_blocks
from tests.template_helpers import stack_dict

NAME = "tap-stack"


def section(t: dict[str, Any]) -> str:
    return "\n".join(checks_section(NAME, t))


def table_rows(text: str) -> list[list[str]]:
    after = text.split("| Check | What it looks at | AWS CLI below |\n|---|---|---|\n", 1)[1]
    body = after.split("\n\n", 1)[0]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in body.splitlines()]


def test_every_registered_check_has_page_commands_or_the_reason_it_has_none() -> None:
    names = {check.name for check in CHECKS}
    assert set(CLI_COMMANDS) | set(NO_CLI) == names
    assert not set(CLI_COMMANDS) & set(NO_CLI)
    assert all(commands for commands in CLI_COMMANDS.values()) and all(NO_CLI.values())


def test_every_command_named_for_a_check_is_in_a_shell_block_of_the_section() -> None:
    shell = "\n".join(block.body for block in shell_blocks(section(stack_dict(NAME))))
    missing = [
        f"{name}: {command}"
        for name, commands in CLI_COMMANDS.items()
        for command in commands
        if not preflight_checks._asked(command, shell)
    ]
    assert not missing


def test_the_table_lists_the_registered_checks_in_their_order_with_what_each_looks_at() -> None:
    rows = table_rows(section(stack_dict(NAME)))
    assert [row[0].strip("`") for row in rows] == [check.name for check in CHECKS]
    assert [row[1] for row in rows] == [check.what for check in CHECKS]
    for row in rows:
        name = row[0].strip("`")
        if name in NO_CLI:
            assert row[2].startswith("none: ")
        else:
            assert row[2] == ", ".join(f"`{c}`" for c in CLI_COMMANDS[name])


def test_a_check_the_template_gives_nothing_to_look_at_says_so_in_its_row() -> None:
    t = stack_dict(NAME)
    del t["Parameters"]["CertificateArn"]  # no certificate parameter: the page has no describe-certificate
    rows = {row[0].strip("`"): row[2] for row in table_rows(section(t))}
    assert rows[lookups.CERTIFICATE] == NOTHING_HERE


def test_a_check_registered_without_a_page_entry_stops_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    added = Check("new-check", lambda ctx: [], "looks at something new", "fix it")
    monkeypatch.setattr(catalogue, "CHECKS", (*CHECKS, added))
    with pytest.raises(UnlistedCheck, match=r"new-check has no entry .* CLI_COMMANDS, or .* NO_CLI"):
        checks_section(NAME, stack_dict(NAME))


def test_a_page_entry_for_a_name_the_registry_lacks_stops_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalogue, "CHECKS", tuple(c for c in CHECKS if c.name != lookups.SSM))
    with pytest.raises(UnlistedCheck, match=f"lists {lookups.SSM}: remove"):
        checks_section(NAME, stack_dict(NAME))


def test_the_leftovers_row_names_the_list_call_of_every_type_the_free_name_script_looks_up() -> None:
    """A type added to cfnspec's table shows up in the script and, without an edit here, in the check's row."""
    t = stack_dict(NAME)
    looked_up = {r["Type"] for r in t["Resources"].values()} & set(NAME_LISTS)
    assert looked_up >= {"AWS::Logs::LogGroup", "AWS::KMS::Alias", "AWS::CloudWatch::Dashboard"}
    (row,) = [r for r in table_rows(section(t)) if r[0] == f"`{leftovers.CHECK}`"]
    for rtype in looked_up:
        lookup = NAME_LISTS[rtype]
        assert f"`aws {lookup.service} {xform_name(lookup.operation, '-')}`" in row[2], rtype

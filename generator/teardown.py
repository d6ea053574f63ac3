"""The hand-off page's section on stateful resources: what deleting the stack leaves, and how to clean it up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec.limits import RETAIN, RETAIN_EXCEPT_ON_CREATE
from cfnspec.resource_kinds import KINDS, kind, removal_order
from generator import describe
from generator.markdown import code, fenced, table
from generator.shell import guarded

RECORD_MISSING = (
    '[ -s retained-resources.txt ] || { echo "retained-resources.txt is missing or empty: run the block that '
    'records what is retained (and deletes the stack) first" >&2; exit 1; }'
)


def cleanup_script(types: list[str]) -> str:
    lines = [
        "# Reads retained-resources.txt, written by the block above before the stack was deleted.",
        RECORD_MISSING,
    ]
    for rtype in removal_order(types):
        removal = KINDS[rtype].removal
        assert removal is not None, "removal_order lists only types removed by command"
        lines.append(f"for ID in $(awk '$2 == \"{rtype}\" {{print $3}}' retained-resources.txt); do")
        lines += [f"  {line}" for line in removal.lines]
        lines.append("done")
    lines.append('echo "removed what retained-resources.txt lists"')
    return guarded(lines)


def _retained_rows(kept: list[tuple[str, Mapping[str, Any]]]) -> list[list[str]]:
    rows = []
    for logical_id, r in kept:
        name_property = describe.NAME_PROPERTIES.get(str(r.get("Type")))
        named = name_property in r.get("Properties", {}) if name_property else False
        rows.append(
            [
                code(logical_id),
                code(r.get("Type")),
                r.get("DeletionPolicy", ""),
                r.get("UpdateReplacePolicy", "Delete"),
                code(r["Condition"]) if "Condition" in r else "always",
                "yes" if named else "no",
            ]
        )
    return rows


def _failed_create_lines(kept: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Which resources a rolled-back first create deletes (RetainExceptOnCreate) and why the others stay."""
    except_on_create = [i for i, r in kept if r.get("DeletionPolicy") == RETAIN_EXCEPT_ON_CREATE]
    always = [(i, str(r.get("Type"))) for i, r in kept if r.get("DeletionPolicy") == RETAIN]
    if not except_on_create:
        return []
    lines = [
        "A failed first create leaves none of "
        + ", ".join(code(i) for i in except_on_create)
        + " behind (DeletionPolicy `RetainExceptOnCreate`: CloudFormation deletes them when the operation "
        "that created them rolls back), so their names are free for the retry."
    ]
    for logical_id, rtype in always:
        why = kind(rtype, logical_id).why_retain or "its data must outlive even a failed create"
        lines[0] += f" {code(logical_id)} stays `Retain` even then: {why}."
    return [*lines, ""]


def _delete_script(kept_ids: list[str]) -> str:
    # The JMESPath literal lists the retained logical ids: the file then holds only what stays behind. It is
    # written to a new file first, so that a rerun after the stack is gone keeps the record it made before.
    literal = "[" + ",".join(f'"{i}"' for i in kept_ids) + "]"
    return guarded(
        [
            'if ! aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" >/dev/null; then',
            '  echo "$STACK_NAME: no such stack in $REGION (already deleted?): nothing deleted" >&2',
            "  exit 1",
            "fi",
            'aws cloudformation list-stack-resources --region "$REGION" --stack-name "$STACK_NAME" \\',
            f"  --query 'StackResourceSummaries[?contains(`{literal}`, LogicalResourceId)]"
            ".[LogicalResourceId,ResourceType,PhysicalResourceId]' \\",
            "  --output text > retained-resources.new",
            '[ -s retained-resources.new ] || { echo "no retained resource recorded: not deleting" >&2; exit 1; }',
            "mv retained-resources.new retained-resources.txt",
            "cat retained-resources.txt",
            'aws cloudformation delete-stack --region "$REGION" --stack-name "$STACK_NAME"',
            "# The waiter polls every 30 seconds and gives up after an hour.",
            'aws cloudformation wait stack-delete-complete --region "$REGION" --stack-name "$STACK_NAME"',
            'echo "$STACK_NAME deleted; what stays is listed in retained-resources.txt"',
        ]
    )


def stateful_section(name: str, t: Mapping[str, Any]) -> list[str]:
    kept = describe.stateful(t)
    lines = ["## Tearing down", ""]
    if not kept:
        return [*lines, "Nothing is retained: deleting the stack deletes every resource it created.", ""]
    lines += [
        "These resources hold data. CloudFormation does not delete them with the stack, nor when an update "
        "replaces them: they stay in the account, outside any stack.",
        "",
        *table(
            ["Logical id", "Type", "DeletionPolicy", "UpdateReplacePolicy", "Exists when", "Fixed name"],
            _retained_rows(kept),
        ),
        "",
    ]
    lines += [
        "A retained resource with a fixed name keeps it: a new stack that derives the same name (same "
        "environment suffix, account and region) fails to create until the old resource is deleted.",
        "",
        *_failed_create_lines(kept),
    ]
    protections = describe.deletion_protection_parameters(t)
    if protections:
        lines += [
            "Before deleting: "
            + "; ".join(
                f"with {code(parameter)} = `true` the delete fails at {code(logical_id)}"
                for logical_id, parameter in protections
            )
            + ". Update the stack with it set to `false` first (a change set like any other).",
            "",
        ]
    lines += [
        "Record the physical ids of what stays behind before you delete the stack (afterwards the stack no "
        "longer lists them), then delete it:",
        "",
        *fenced("sh", _delete_script([i for i, _ in kept])),
        "",
        "What stays:",
        "",
    ]
    # Every retained type has its entry: one without is an error naming the table, not a vague sentence.
    kinds = {str(r.get("Type")): kind(str(r.get("Type")), i) for i, r in kept}
    for rtype, facts in kinds.items():
        lines.append(f"- {code(rtype)}: {facts.on_delete} {facts.cleanup}")
    removable = removal_order(list(kinds))
    if removable:
        lines += [
            "",
            "Remove them once their data is no longer needed (this deletes the data for good):",
            "",
            *fenced("sh", cleanup_script(removable)),
        ]
    lines.append("")
    lines += [
        "To keep a retained resource and its data in a new stack of the same environment instead, adopt it "
        "(below). A retained resource that is neither removed nor imported blocks the create.",
        "",
    ]
    return lines

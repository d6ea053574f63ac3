"""The hand-off page's section on stateful resources: what deleting the stack leaves, and how to clean it up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec.limits import DEFAULT_REGION
from generator import describe
from generator.markdown import code, fenced, table

# How to remove each kind of retained resource by hand, once its data is no longer needed. The physical id
# comes from the list recorded before the stack is deleted.
CLEANUP = {
    "AWS::S3::Bucket": "To remove it, empty it (the S3 console's Empty removes every object version; `aws s3 rm "
    "--recursive` leaves the old versions of a versioned bucket behind), then run "
    '`aws s3api delete-bucket --region "$REGION" --bucket PHYSICAL_ID`.',
    "AWS::Logs::LogGroup": "To remove it: "
    '`aws logs delete-log-group --region "$REGION" --log-group-name PHYSICAL_ID`.',
    "AWS::KMS::Key": "Remove it last, once nothing encrypted with it is left: "
    '`aws kms schedule-key-deletion --region "$REGION" --key-id PHYSICAL_ID --pending-window-in-days 30` '
    '(`aws kms cancel-key-deletion --region "$REGION" --key-id PHYSICAL_ID` undoes it within the window).',
    "AWS::IAM::ServiceLinkedRole": "Leave it in place.",
}


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


def _delete_script(name: str, kept_ids: list[str]) -> str:
    # The JMESPath literal lists the retained logical ids: the table then shows only what stays behind.
    literal = "[" + ",".join(f'"{i}"' for i in kept_ids) + "]"
    return "\n".join(
        [
            f"REGION={DEFAULT_REGION}",
            f"STACK_NAME={name}-dev",
            'aws cloudformation list-stack-resources --region "$REGION" --stack-name "$STACK_NAME" \\',
            f"  --query 'StackResourceSummaries[?contains(`{literal}`, LogicalResourceId)]"
            ".[LogicalResourceId,ResourceType,PhysicalResourceId]' \\",
            "  --output table > retained-resources.txt",
            "cat retained-resources.txt",
            'aws cloudformation delete-stack --region "$REGION" --stack-name "$STACK_NAME"',
            'aws cloudformation wait stack-delete-complete --region "$REGION" --stack-name "$STACK_NAME"',
        ]
    )


def stateful_section(name: str, t: Mapping[str, Any]) -> list[str]:
    kept = describe.stateful(t)
    lines = ["## Stateful resources and deleting the stack", ""]
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
        *fenced("sh", _delete_script(name, [i for i, _ in kept])),
        "",
        "What stays, and how to remove it once its data is no longer needed (`PHYSICAL_ID` from "
        "`retained-resources.txt`):",
        "",
    ]
    for rtype in dict.fromkeys(str(r.get("Type")) for _, r in kept):
        stays = describe.ON_DELETE.get(rtype, "It stays.")
        how = CLEANUP.get(rtype, "Delete it in its service's console when done.")
        lines.append(f"- {code(rtype)}: {stays} {how}")
    return [*lines, ""]

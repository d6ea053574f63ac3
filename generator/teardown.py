"""The hand-off page's section on stateful resources: what deleting the stack leaves, and how to clean it up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator import describe
from generator.markdown import code, fenced, table

# How to remove each kind of retained resource by hand, once its data is no longer needed. The physical id
# comes from the list recorded before the stack is deleted.
CLEANUP = {
    "AWS::S3::Bucket": "To remove it, delete every object version and delete marker (`aws s3 rm --recursive` "
    "leaves the old versions of a versioned bucket behind), then the bucket: the recipe below.",
    "AWS::Logs::LogGroup": "To remove it: "
    '`aws logs delete-log-group --region "$REGION" --log-group-name PHYSICAL_ID`.',
    "AWS::KMS::Key": "Remove it last, once nothing encrypted with it is left: "
    '`aws kms schedule-key-deletion --region "$REGION" --key-id PHYSICAL_ID --pending-window-in-days 30` '
    '(`aws kms cancel-key-deletion --region "$REGION" --key-id PHYSICAL_ID` undoes it within the window).',
    "AWS::IAM::ServiceLinkedRole": "Leave it in place.",
}


# Paged by repetition: each pass deletes what it listed, so the next list starts at what is left.
EMPTY_BUCKET = "\n".join(
    [
        "EMPTY_BUCKET=replace-with-the-bucket-name  # PHYSICAL_ID of the bucket, from retained-resources.txt",
        "while true; do",
        '  aws s3api list-object-versions --region "$REGION" --bucket "$EMPTY_BUCKET" --max-items 1000 \\',
        "    --query '{Objects: [Versions[].{Key: Key, VersionId: VersionId}, "
        "DeleteMarkers[].{Key: Key, VersionId: VersionId}][]}' --output json > versions.json",
        "  [ \"$(jq '.Objects | length' versions.json)\" -eq 0 ] && break",
        '  aws s3api delete-objects --region "$REGION" --bucket "$EMPTY_BUCKET" --delete file://versions.json \\',
        "    --query 'length(Deleted)'",
        "done",
        'aws s3api delete-bucket --region "$REGION" --bucket "$EMPTY_BUCKET"',
    ]
)


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


def _delete_script(kept_ids: list[str]) -> str:
    # The JMESPath literal lists the retained logical ids: the table then shows only what stays behind.
    literal = "[" + ",".join(f'"{i}"' for i in kept_ids) + "]"
    return "\n".join(
        [
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
        "What stays, and how to remove it once its data is no longer needed (`PHYSICAL_ID` from "
        "`retained-resources.txt`):",
        "",
    ]
    types = list(dict.fromkeys(str(r.get("Type")) for _, r in kept))
    for rtype in types:
        stays = describe.ON_DELETE.get(rtype, "It stays.")
        how = CLEANUP.get(rtype, "Delete it in its service's console when done.")
        lines.append(f"- {code(rtype)}: {stays} {how}")
    lines.append("")
    if "AWS::S3::Bucket" in types:
        lines += [
            "Empty and delete a versioned bucket (both the stack's buckets are versioned). `delete-objects` "
            "takes at most 1,000 keys, so the loop takes the versions and delete markers 1,000 at a time "
            "until none are left:",
            "",
            *fenced("sh", EMPTY_BUCKET),
            "",
        ]
    lines += [
        "To keep a retained resource and its data in a new stack of the same environment instead, adopt it: "
        "create the new stack with an `IMPORT` change set (`--change-set-type IMPORT "
        "--resources-to-import`) that names the resource's logical id and physical id, then update the stack "
        "as usual. A retained resource that is neither removed nor imported blocks the create.",
        "",
    ]
    return lines

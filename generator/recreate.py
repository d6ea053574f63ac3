"""The hand-off page's recipe for creating the stack again with the data its predecessor retained (AWS CLI).

A new stack adopts the retained resources through an IMPORT change set whose template holds only them, then is
updated to the full template as usual. deploy.py does the same with `deploy --import-existing-resources`
(deployer/importing.py); this is the procedure for the AWS CLI alone. Both import the same types, each with the
ResourceIdentifier key and the still-there test of its entry in cfnspec/resource_kinds.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cfnspec.resource_kinds import IMPORT_TEMPLATE_SECTIONS, IMPORTED
from generator import describe
from generator.markdown import code, fenced
from generator.runbook import INLINE_LIMIT, create_lines, execute_block, review_block, review_lines
from generator.shell import convert_parameters, guarded, not_rehearsable
from generator.teardown import RECORD_MISSING

# jq: the names a value refers to (Ref, Fn::GetAtt, Fn::Sub), then the template of only the resources in
# resources-to-import.json, without the properties that refer to a resource not being imported.
IMPORT_TEMPLATE_JQ = [
    "cat > import-template.jq <<'JQ'",
    "def names: [.. | objects | (.Ref? | strings),",
    '  (."Fn::GetAtt"? | if type == "array" then .[0] elif type == "string" then split(".")[0] else empty end),',
    '  (."Fn::Sub"? | if type == "array" then .[0] else . end | strings | scan("\\\\$\\\\{([^}!.]+)") | .[0])];',
    "($wanted[0] | map(.LogicalResourceId)) as $ids",
    "| (.Resources | keys - $ids) as $others",
    "| {" + ", ".join(IMPORT_TEMPLATE_SECTIONS) + ",",
    "   Resources: (.Resources | with_entries(select(.key | IN($ids[])))",
    "     | map_values(.Properties |= ((. // {}) | with_entries(select([.value | names[] | IN($others[])] | any | not)))))}",
    "| with_entries(select(.value != null))",
    "JQ",
    "jq --slurpfile wanted resources-to-import.json -f import-template.jq output/{name}.json > import-template.json",
]


def importable(t: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(logical id, type) of every retained resource the recipe imports, in template order."""
    return [(i, str(r.get("Type"))) for i, r in describe.stateful(t) if str(r.get("Type")) in IMPORTED]


def _import_template_size(t: Mapping[str, Any]) -> int:
    """An upper bound: every importable resource with all its properties, and the kept sections."""
    ids = {i for i, _ in importable(t)}
    doc = {k: t[k] for k in IMPORT_TEMPLATE_SECTIONS if k in t}
    doc["Resources"] = {i: r for i, r in t["Resources"].items() if i in ids}
    return len(json.dumps(doc, indent=1).encode())


def _import_lines(name: str, t: Mapping[str, Any], size: int) -> list[str]:
    cases = []
    for rtype in dict.fromkeys(rt for _, rt in importable(t)):
        cases += [f"    {rtype})", f"      KEY={IMPORTED[rtype].key}"]
        cases += [f"      {line}" for line in IMPORTED[rtype].still_there]
        cases[-1] += " ;;"
    skipped = sorted({str(r.get("Type")) for _, r in describe.stateful(t)} - set(IMPORTED))
    lines = [
        RECORD_MISSING,
        "# 1. Which of the resources in retained-resources.txt (written before the stack was deleted) still exist.",
        "echo '[]' > resources-to-import.json",
        'for ROW in $(awk \'{print $1 "," $2 "," $3}\' retained-resources.txt); do',
        "  LOGICAL_ID=${ROW%%,*}; REST=${ROW#*,}; TYPE=${REST%%,*}; ID=${REST#*,}",
        '  case "$TYPE" in',
        *cases,
        "    *) continue ;;" + (f"  # {', '.join(skipped)}: not imported" if skipped else ""),
        "  esac",
        '  jq --arg type "$TYPE" --arg id "$LOGICAL_ID" --arg key "$KEY" --arg value "$ID" \\',
        "    '. + [{ResourceType: $type, LogicalResourceId: $id, ResourceIdentifier: {($key): $value}}]' \\",
        "    resources-to-import.json > resources-to-import.next",
        "  mv resources-to-import.next resources-to-import.json",
        "done",
        "cat resources-to-import.json",
        "",
        "# 2. The import template: only those resources (each with its DeletionPolicy, which an import requires),",
        "#    the parameters, rules, mappings and conditions; a property that refers to a resource not imported",
        "#    is left out, and the update in step 4 sets it.",
        *[line.replace("{name}", name) for line in IMPORT_TEMPLATE_JQ],
        "",
        "# 3. Import them into a new stack: one Import per resource, nothing else is created or changed.",
    ]
    if _import_template_size(t) > INLINE_LIMIT:
        lines += [
            'aws s3 cp import-template.json "s3://$BUCKET/import-template.json" --region "$REGION"',
        ]
        source = '--template-url "https://$BUCKET.$S3_HOST/import-template.json"'
    else:
        source = "--template-body file://import-template.json"
    lines += [
        *convert_parameters(),
        "CHANGE_SET=import-$(date -u +%Y%m%d-%H%M%S)",
        *create_lines(
            t,
            "IMPORT",
            f"--resources-to-import file://resources-to-import.json {source}",
            "parameters.cli.json",
            "tags.cli.json",
        ),
        *review_lines("IMPORT"),
    ]
    return lines


def recreate_blocks(name: str, t: Mapping[str, Any], size: int) -> list[str]:
    """Import what is left (reviewed, then executed), then the update to the full template (the same)."""
    return [
        guarded(_import_lines(name, t, size)),
        execute_block("IMPORT"),
        review_block(name, t, size, "UPDATE"),
        execute_block("UPDATE"),
    ]


def recreate_script(name: str, t: Mapping[str, Any], size: int) -> str:
    importing, executing, updating, _ = recreate_blocks(name, t, size)
    return "\n".join([importing, executing, "# 4. Update the stack to the full template.", updating])


def recreate_section(name: str, t: Mapping[str, Any], size: int) -> list[str]:
    kept = importable(t)
    if not kept:
        return []
    reason = (
        "the rehearsal removes the retained resources instead (the block above); "
        "tests/integration/test_import_existing.py runs this block against the emulator"
    )
    blocks: list[str] = []
    for body in recreate_blocks(name, t, size):
        blocks += [*not_rehearsable(reason), *fenced("sh", body), ""]
    return [
        "### Creating the stack again with the retained data",
        "",
        "Instead of removing them, a new stack of the same environment can adopt the retained resources, "
        "data and all: an `IMPORT` change set whose template holds only the resources being imported, then an "
        "update to the full template"
        + (
            f" (over the {INLINE_LIMIT:,}-byte inline limit, so it goes through S3 as for a new stack)"
            if size > INLINE_LIMIT
            else ""
        )
        + ". Four blocks, each reviewed before the next: the first reads `retained-resources.txt` (written "
        f"above before the stack was deleted), keeps what still exists of {', '.join(code(i) for i, _ in kept)}"
        ", and creates and shows the import change set; the second executes it; the last two are the update's "
        "review and execute. With deploy.py it is one command: `deploy.py deploy ... "
        "--import-existing-resources` (it finds the names and the key itself).",
        "",
        *blocks,
    ]

"""Check 6: resources an earlier stack of the same environment left behind under the names this stack will use.

What is named, and what is retained, is read from the template (name properties, and DeletionPolicy through
cfnspec.stateful); a leftover of either kind makes the create fail with "already exists".
Which types are looked up, with which call, and how a leftover is removed, is each type's entry in
cfnspec/resource_kinds.py (NAME_LISTS): log groups, KMS aliases and dashboards.
A name that exists is a leftover only when no live stack holds it (deployer.preflight.ownership); a name another
stack holds is reported as that stack's, and its only fix is another name.
Buckets are covered by the bucket-name check, the service-linked role by its own check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cfnspec.resource_kinds import KINDS, NAME_LISTS, Import, NameList
from cfnspec.stateful import NAME_PROPERTIES, kept_on_delete
from deployer.preflight import ownership
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.model import Finding, Status

CHECK = "leftovers"


def _exists(ctx: PreflightContext, lookup: NameList, name: str, listed: dict[str, set[str]]) -> bool:
    """Whether the name exists: the exact name, on whichever page it comes (a prefix also matches longer names).

    A list that cannot be narrowed by prefix is read once and kept in `listed` for the other names of its type.
    """
    paginator = ctx.client(lookup.service).get_paginator(lookup.method())
    if lookup.prefix:
        pages = paginator.paginate(**{lookup.prefix: name})
        return any(item.get(lookup.name_key) == name for page in pages for item in page.get(lookup.items, []))
    if lookup.operation not in listed:
        pages = paginator.paginate()
        listed[lookup.operation] = {
            str(item.get(lookup.name_key)) for page in pages for item in page.get(lookup.items, [])
        }
    return name in listed[lookup.operation]


def check_leftovers(ctx: PreflightContext) -> list[Finding]:
    facts = ctx.facts
    named = []
    for logical_id, resource in facts.active(*NAME_LISTS):
        rtype = str(resource["Type"])
        name = facts.text(facts.properties(resource).get(NAME_PROPERTIES[rtype]))
        if name:
            named.append((logical_id, rtype, name, kept_on_delete(resource)))
    if not named:
        return []  # nothing to check: a check reports only on what the template has
    mine = set(facts.stack_resources().values()) if not facts.creating else set()
    listed: dict[str, set[str]] = {}
    findings = []
    for logical_id, rtype, name, retained in named:
        lookup = NAME_LISTS[rtype]
        if name in mine:
            continue
        try:
            exists = _exists(ctx, lookup, name, listed)
        except AWS_ERRORS as err:
            findings.append(could_not_check(CHECK, f"{rtype} {name}", err, lookup.permission))
            continue
        if exists:
            findings.append(_held(ctx, logical_id, rtype, name, retained, lookup))
    if not findings:
        types = {rtype for _, rtype, _, _ in named}
        kinds = " / ".join(lookup.plural for rtype, lookup in NAME_LISTS.items() if rtype in types)
        findings.append(
            Finding(
                CHECK,
                Status.PASS,
                f"none of the {len(named)} named {kinds} is left over from an earlier stack",
            )
        )
    return findings


def _held(
    ctx: PreflightContext, logical_id: str, rtype: str, name: str, retained: bool, lookup: NameList
) -> Finding:
    """An existing name: a live stack's (choose another name), unknown (no removal advised), or a leftover."""
    read_tags = _tags_by_type.get(rtype)
    try:
        owner = ownership.live_owner(ctx, name, (lambda: read_tags(ctx, name)) if read_tags else None)
    except AWS_ERRORS as err:
        return ownership.owner_unknown(CHECK, f"{rtype} {name}", logical_id, err)
    if owner is not None:
        return ownership.owned(CHECK, f"{rtype} {name}", logical_id, owner, ownership.this_stack(ctx))
    return _leftover(logical_id, rtype, name, retained, lookup)


def _log_group_tags(ctx: PreflightContext, name: str) -> Mapping[str, str]:
    facts = ctx.facts
    arn = f"arn:{facts.partition}:logs:{facts.region}:{facts.pseudo('AWS::AccountId')}:log-group:{name}"
    tags: Mapping[str, str] = ctx.client("logs").list_tags_for_resource(resourceArn=arn).get("tags", {})
    return tags


def _dashboard_tags(ctx: PreflightContext, name: str) -> Mapping[str, str]:
    facts = ctx.facts
    # Dashboards are account-wide: their ARN has no region.
    arn = f"arn:{facts.partition}:cloudwatch::{facts.pseudo('AWS::AccountId')}:dashboard/{name}"
    tags = ctx.client("cloudwatch").list_tags_for_resource(ResourceARN=arn).get("Tags", [])
    return {str(t["Key"]): str(t["Value"]) for t in tags}


def _leftover(logical_id: str, rtype: str, name: str, retained: bool, lookup: NameList) -> Finding:
    why = (
        "belongs to no stack: retained by an earlier one (DeletionPolicy Retain)"
        if retained
        else "belongs to no stack: left by an earlier one"
    )
    # A type the import never adopts (a dashboard holds no data) has removal as its only fix.
    adopt = (
        "\nor keep it and its data: re-create with --import-existing-resources (deploy.py deploy adopts the "
        "retained resources this template names into the new stack)"
        if isinstance(KINDS[rtype].imported, Import)
        else ""
    )
    return Finding(
        CHECK,
        Status.FAIL,
        f"{rtype} {name} ({logical_id}) already exists, {why}: the create would fail",
        fix=f"remove it: {lookup.remove.format(name=name)}{adopt}",
    )


# Where the service tags a resource with its stack (NameList.tagged), its owner is read from the tags first.
_tags_by_type: dict[str, Callable[[PreflightContext, str], Mapping[str, str]]] = {
    "AWS::Logs::LogGroup": _log_group_tags,
    "AWS::CloudWatch::Dashboard": _dashboard_tags,
}

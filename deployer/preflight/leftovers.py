"""Check 6: resources an earlier stack of the same environment left behind under the names this stack will use.

What is named, and what is retained, is read from the template (name properties, and DeletionPolicy through
cfnspec.stateful); a leftover of either kind makes the create fail with "already exists".
A name that exists is a leftover only when no live stack holds it (deployer.preflight.ownership); a name another
stack holds is reported as that stack's, and its only fix is another name.
Buckets are covered by the bucket-name check, the service-linked role by its own check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cfnspec.stateful import NAME_PROPERTIES, kept_on_delete
from deployer.preflight import ownership
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.model import Finding, Status

CHECK = "leftovers"


@dataclass(frozen=True)
class Kind:
    permission: str
    remove: str  # command template with {name}


KINDS = {
    "AWS::Logs::LogGroup": Kind(
        "logs:DescribeLogGroups",
        "aws logs delete-log-group --log-group-name {name}",
    ),
    "AWS::KMS::Alias": Kind("kms:ListAliases", "aws kms delete-alias --alias-name {name}"),
}


def _log_group_exists(ctx: PreflightContext, name: str) -> bool:
    pages = ctx.client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
    return any(g["logGroupName"] == name for page in pages for g in page.get("logGroups", []))


def _aliases(ctx: PreflightContext) -> set[str]:
    pages = ctx.client("kms").get_paginator("list_aliases").paginate()
    return {a["AliasName"] for page in pages for a in page.get("Aliases", [])}


def check_leftovers(ctx: PreflightContext) -> list[Finding]:
    facts = ctx.facts
    named = []
    for logical_id, resource in facts.active(*KINDS):
        rtype = str(resource["Type"])
        name = facts.text(facts.properties(resource).get(NAME_PROPERTIES[rtype]))
        if name:
            named.append((logical_id, rtype, name, kept_on_delete(resource)))
    if not named:
        return []  # nothing to check: a check reports only on what the template has
    mine = set(facts.stack_resources().values()) if not facts.creating else set()
    aliases: set[str] | None = None
    findings = []
    for logical_id, rtype, name, retained in named:
        kind = KINDS[rtype]
        if name in mine:
            continue
        try:
            if rtype == "AWS::KMS::Alias":
                aliases = _aliases(ctx) if aliases is None else aliases
                exists = name in aliases
            else:
                exists = _exists_by_type[rtype](ctx, name)
        except AWS_ERRORS as err:
            findings.append(could_not_check(CHECK, f"{rtype} {name}", err, kind.permission))
            continue
        if exists:
            findings.append(_held(ctx, logical_id, rtype, name, retained, kind))
    if not findings:
        findings.append(
            Finding(
                CHECK,
                Status.PASS,
                f"none of the {len(named)} named log groups / aliases is left over from an earlier stack",
            )
        )
    return findings


def _held(
    ctx: PreflightContext, logical_id: str, rtype: str, name: str, retained: bool, kind: Kind
) -> Finding:
    """An existing name: a live stack's (choose another name), unknown (no removal advised), or a leftover."""
    read_tags = _tags_by_type.get(rtype)
    try:
        owner = ownership.live_owner(ctx, name, (lambda: read_tags(ctx, name)) if read_tags else None)
    except AWS_ERRORS as err:
        return ownership.owner_unknown(CHECK, f"{rtype} {name}", logical_id, err)
    if owner is not None:
        return ownership.owned(CHECK, f"{rtype} {name}", logical_id, owner, ownership.this_stack(ctx))
    return _leftover(logical_id, rtype, name, retained, kind)


def _log_group_tags(ctx: PreflightContext, name: str) -> Mapping[str, str]:
    facts = ctx.facts
    arn = f"arn:{facts.partition}:logs:{facts.region}:{facts.pseudo('AWS::AccountId')}:log-group:{name}"
    tags: Mapping[str, str] = ctx.client("logs").list_tags_for_resource(resourceArn=arn).get("tags", {})
    return tags


def _leftover(logical_id: str, rtype: str, name: str, retained: bool, kind: Kind) -> Finding:
    why = (
        "belongs to no stack: retained by an earlier one (DeletionPolicy Retain)"
        if retained
        else "belongs to no stack: left by an earlier one"
    )
    return Finding(
        CHECK,
        Status.FAIL,
        f"{rtype} {name} ({logical_id}) already exists, {why}: the create would fail",
        fix=f"remove it: {kind.remove.format(name=name)}\n"
        "or keep it and its data: re-create with --import-existing-resources (deploy.py deploy adopts the "
        "retained resources this template names into the new stack)",
    )


_exists_by_type: dict[str, Callable[[PreflightContext, str], bool]] = {
    "AWS::Logs::LogGroup": _log_group_exists
}
# KMS aliases have no tags: their owner is read from CloudFormation alone.
_tags_by_type: dict[str, Callable[[PreflightContext, str], Mapping[str, str]]] = {
    "AWS::Logs::LogGroup": _log_group_tags
}

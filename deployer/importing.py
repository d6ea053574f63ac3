"""--import-existing-resources: a stack created again after a teardown adopts what the old stack retained.

The template keeps its buckets, log groups and KMS key when the stack is deleted (DeletionPolicy Retain), under
names made with Fn::Sub from EnvironmentSuffix, the account and the region; a new stack of the same environment
then fails with "already exists". CreateChangeSet's own ImportExistingResources adopts only resources whose names
are static in the template, so this module resolves the names itself (cfnspec.resolve), looks up which of them
exist, and imports those through an IMPORT change set whose template holds only them. The engine then updates the
stack to the full template through its normal path. An import only records a resource in the stack: its contents
(objects, log events, key material) are not touched. Which types are adopted, how, and under which identifier key
is each type's entry in cfnspec/resource_kinds.py, as for the hand-off page's recipe.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from cfnspec.limits import RETAIN
from cfnspec.resolve import Scope, account_pseudo_parameters, condition, parameter_values, resolve
from cfnspec.resource_kinds import (
    ALIAS,
    BUCKET,
    IMPORT_TEMPLATE_SECTIONS,
    KEY,
    KINDS,
    LOG_GROUP,
    Adopt,
    NotImported,
    import_key,
)
from cfnspec.stateful import NAME_PROPERTIES, kept_on_delete
from deployer import changeset
from deployer.clients import aws_call, error_code, http_status
from deployer.errors import ChangeSetFailed, NeedsDecision
from deployer.options import DeployOptions
from deployer.regions import partition_of
from deployer.runtime import Context
from deployer.stack_ops import failure, operation
from deployer.states import Action
from deployer.upload import needs_upload, upload_template

_SUB_NAME = re.compile(r"\$\{([^}!.][^}.]*)")


@dataclass(frozen=True)
class Adoption:
    logical_id: str
    resource_type: str
    physical_id: str

    def to_import(self) -> dict[str, Any]:
        """One entry of CreateChangeSet's ResourcesToImport."""
        return {
            "ResourceType": self.resource_type,
            "LogicalResourceId": self.logical_id,
            "ResourceIdentifier": {import_key(self.resource_type): self.physical_id},
        }


@dataclass(frozen=True)
class Plan:
    adopted: tuple[Adoption, ...]
    notes: tuple[str, ...]  # retained resources that are not adopted, each with the reason


class Lookups:
    """The read-only AWS calls that tell whether a retained resource exists (and which key it is encrypted with)."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client

    def bucket(self, name: str) -> str:
        """ "ours", "absent" or "foreign" (HeadBucket 403: another account owns the name)."""
        with aws_call(f"looking up bucket {name}"):
            try:
                self._client("s3").head_bucket(Bucket=name)
            except ClientError as err:
                if http_status(err) == 404:
                    return "absent"
                if http_status(err) == 403:
                    return "foreign"
                raise
        return "ours"

    def bucket_key(self, name: str) -> str | None:
        with aws_call(f"reading the encryption of bucket {name}"):
            try:
                config = self._client("s3").get_bucket_encryption(Bucket=name)
            except ClientError as err:
                if error_code(err) == "ServerSideEncryptionConfigurationNotFoundError":
                    return None
                raise
        rules = config.get("ServerSideEncryptionConfiguration", {}).get("Rules") or [{}]
        key = rules[0].get("ApplyServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
        return str(key) if key else None

    def log_group(self, name: str) -> Mapping[str, Any] | None:
        # A name prefix also matches longer names: only the exact one counts, on whichever page it comes.
        with aws_call(f"looking up log group {name}"):
            pages = (
                self._client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
            )
            for page in pages:
                for group in page.get("logGroups", []):
                    if group["logGroupName"] == name:
                        found: Mapping[str, Any] = group
                        return found
        return None

    def key(self, key_id: str) -> Mapping[str, Any] | None:
        """KeyMetadata of a key id, ARN or alias name (alias -> key id), or None when there is none."""
        with aws_call(f"looking up KMS key {key_id}"):
            try:
                found: Mapping[str, Any] = self._client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
            except ClientError as err:
                if error_code(err) == "NotFoundException":
                    return None
                raise
        return found


Groups = dict[str, Mapping[str, Any]]  # logical id -> the adopted log group as DescribeLogGroups gives it


def _bucket_exists(lookups: Lookups, logical_id: str, name: str, notes: list[str], _: Groups) -> bool:
    owner = lookups.bucket(name)
    if owner == "foreign":
        notes.append(f"{logical_id}: bucket {name} belongs to another account; it cannot be imported")
    return owner == "ours"


def _log_group_exists(lookups: Lookups, logical_id: str, name: str, _: list[str], groups: Groups) -> bool:
    group = lookups.log_group(name)
    if group is not None:
        groups[logical_id] = group  # its kmsKeyId names the key it is encrypted with
    return group is not None


# Whether a resource adopted by name (Adopt.BY_NAME) exists and is ours, by type.
_EXISTS: Mapping[str, Callable[[Lookups, str, str, list[str], Groups], bool]] = {
    BUCKET: _bucket_exists,
    LOG_GROUP: _log_group_exists,
}


def _resource_names(value: Any) -> Iterator[str]:
    """Names a value refers to through Ref, Fn::GetAtt and Fn::Sub (parameters and resources alike)."""
    if isinstance(value, list):
        for item in value:
            yield from _resource_names(item)
    elif isinstance(value, Mapping):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield str(arg[0] if isinstance(arg, list) else str(arg).split(".")[0])
            elif key == "Fn::Sub":
                text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                yield from (n for n in _SUB_NAME.findall(str(text)) if n not in local)
                yield from _resource_names(local)
            else:
                yield from _resource_names(arg)


def _retained(doc: Mapping[str, Any], scope: Scope) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in (doc.get("Resources") or {}).items():
        cond = resource.get("Condition")
        if kept_on_delete(resource) and (cond is None or condition(cond, scope) is True):
            yield logical_id, resource


def plan_import(doc: Mapping[str, Any], scope: Scope, lookups: Lookups) -> Plan:
    """Which retained resources of the template exist under the names it would give them."""
    adopted: list[Adoption] = []
    notes: list[str] = []
    groups: Groups = {}
    keys = []
    for logical_id, resource in _retained(doc, scope):
        rtype = str(resource.get("Type"))
        imported = KINDS[rtype].imported if rtype in KINDS else NotImported("unsupported type")
        if isinstance(imported, NotImported):
            notes.append(f"{logical_id} ({rtype}) is not imported: {imported.why}")
            continue
        if imported.adopt is Adopt.BY_KEY_USE:
            keys.append(logical_id)  # decided once the resources encrypted with it are known
            continue
        if imported.adopt is Adopt.WITH_ITS_KEY:
            continue  # an alias: adopted in _find_key when its key is
        name = resolve((resource.get("Properties") or {}).get(NAME_PROPERTIES[rtype]), scope)
        if not isinstance(name, str):
            notes.append(
                f"{logical_id} ({rtype}) is not imported: its name cannot be known before the stack exists"
            )
            continue
        if not _EXISTS[rtype](lookups, logical_id, name, notes, groups):
            continue
        adopted.append(Adoption(logical_id, rtype, name))
    for logical_id in keys:
        found, note = _find_key(logical_id, doc, scope, lookups, adopted, groups)
        adopted += found
        if note:
            notes.append(note)
    return Plan(tuple(adopted), tuple(notes))


def _find_key(
    logical_id: str,
    doc: Mapping[str, Any],
    scope: Scope,
    lookups: Lookups,
    adopted: Sequence[Adoption],
    groups: Mapping[str, Mapping[str, Any]],
) -> tuple[list[Adoption], str | None]:
    """The retained key: through its alias when that still exists, else the one the adopted resources use.

    The alias is not retained by the template, so after a teardown it is normally gone; the retained buckets and
    log groups still name the key they are encrypted with.
    """
    resources = doc.get("Resources") or {}
    aliases = [
        (alias_id, resolve((r.get("Properties") or {}).get("AliasName"), scope))
        for alias_id, r in resources.items()
        if r.get("Type") == ALIAS and (r.get("Properties") or {}).get("TargetKeyId") == {"Ref": logical_id}
    ]
    for alias_id, alias_name in aliases:
        if isinstance(alias_name, str):
            meta = lookups.key(alias_name)
            if meta is not None:
                found = _usable_key(logical_id, str(meta["KeyId"]), meta, f"alias {alias_name}")
                return [*found, Adoption(alias_id, ALIAS, alias_name)], None
    used = set()
    for adoption in adopted:
        props = (resources[adoption.logical_id].get("Properties") or {}).values()
        if logical_id not in set(_resource_names(list(props))):
            continue
        live = (
            lookups.bucket_key(adoption.physical_id)
            if adoption.resource_type == BUCKET
            else groups.get(adoption.logical_id, {}).get("kmsKeyId")
        )
        if live:  # a key id, a key ARN (ends in key/ID) or an alias; DescribeKey takes each
            used.add(str(live).split(":key/", 1)[-1])
    if len(used) != 1:
        why = (
            f"the adopted resources use different keys ({', '.join(sorted(used))})"
            if used
            else "no alias of it exists and no adopted resource is encrypted with it"
        )
        return [], f"{logical_id} ({KEY}) is not imported: {why}; the update creates a new key"
    (key_id,) = used
    meta = lookups.key(key_id)
    if meta is None or meta.get("KeyManager") != "CUSTOMER":
        what = "no longer exists" if meta is None else "is managed by AWS, not by a stack"
        return [], f"{logical_id}: key {key_id} used by the adopted resources {what}; a new key is created"
    return _usable_key(logical_id, str(meta["KeyId"]), meta, "the adopted resources' encryption"), None


def _usable_key(logical_id: str, key_id: str, meta: Mapping[str, Any], source: str) -> list[Adoption]:
    if meta.get("KeyState") != "Enabled":
        raise NeedsDecision(
            f"{logical_id}: key {key_id} (found through {source}) is {meta.get('KeyState')}, so it cannot be "
            "adopted, and the retained data encrypted with it would stay unreadable",
            hint=f"aws kms cancel-key-deletion --key-id {key_id} && aws kms enable-key --key-id {key_id}, "
            "then run the same command again",
        )
    return [Adoption(logical_id, KEY, key_id)]


def import_template(doc: Mapping[str, Any], adopted: Sequence[Adoption]) -> dict[str, Any]:
    """The template of the IMPORT change set: only the adopted resources, each with a DeletionPolicy.

    A property that refers to a resource not being imported is left out (the template could not resolve it); the
    update to the full template that follows sets it.
    """
    ids = [a.logical_id for a in adopted]
    others = set(doc.get("Resources") or {}) - set(ids)
    resources: dict[str, Any] = {}
    for logical_id in ids:
        resource = copy.deepcopy(dict(doc["Resources"][logical_id]))
        # AWS requires one on every imported resource. Retain, whatever the template says (RetainExceptOnCreate
        # included): a failed or rolled-back import must never delete what it adopted; the update that follows
        # sets the template's own policy.
        resource["DeletionPolicy"] = RETAIN
        props = resource.get("Properties") or {}
        resource["Properties"] = {k: v for k, v in props.items() if not set(_resource_names(v)) & others}
        depends = resource.pop("DependsOn", [])
        kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d in ids]
        if kept:
            resource["DependsOn"] = kept
        resources[logical_id] = resource
    out = {k: copy.deepcopy(doc[k]) for k in IMPORT_TEMPLATE_SECTIONS if k in doc}
    out["Resources"] = resources
    return out


def _scope(ctx: Context, opts: DeployOptions, parameters: Sequence[Mapping[str, Any]]) -> Scope:
    given = {str(p["ParameterKey"]): p["ParameterValue"] for p in parameters if "ParameterValue" in p}
    with aws_call("reading the account id (sts get-caller-identity)"):
        account = str(ctx.client("sts").get_caller_identity()["Account"])
    pseudo = account_pseudo_parameters(partition_of(ctx.region), ctx.region, account, opts.stack_name)
    return Scope(parameter_values(opts.template.doc, given), pseudo, opts.template.doc)


def adopt_retained(
    ctx: Context,
    opts: DeployOptions,
    action: Action,
    parameters: Sequence[Mapping[str, Any]],
    stack: Mapping[str, Any] | None,
) -> bool:
    """The engine's hook: True when an import made the stack, so the engine decides again (an update)."""
    if action is Action.UPDATE and stack is not None:
        # The flag stays in a pipeline's command line: on a stack that exists there is nothing to adopt.
        status = stack.get("StackStatus")
        ctx.say(
            "--import-existing-resources: the stack holds the imported resources; updating it to the full template"
            if status == "IMPORT_COMPLETE"
            else f"--import-existing-resources: stack {opts.stack_name} exists ({status}); nothing to import"
        )
    if action is not Action.CREATE:
        return False
    ctx.say("--import-existing-resources: looking for the retained resources this template names")
    plan = plan_import(opts.template.doc, _scope(ctx, opts, parameters), Lookups(ctx.client))
    for adoption in plan.adopted:
        ctx.say(f"  adopt {adoption.logical_id} ({adoption.resource_type}): {adoption.physical_id}")
    for note in plan.notes:
        ctx.say(f"  {note}")
    if not plan.adopted:
        ctx.say("  none of them exists: creating the stack as usual")
        return False
    _confirm(ctx, opts, len(plan.adopted))
    _run_import(ctx, opts, parameters, plan.adopted)
    return True


def _confirm(ctx: Context, opts: DeployOptions, count: int) -> None:
    if opts.assume_yes or not ctx.stdin_is_tty:
        return
    question = f"Import {count} existing resource(s) into the new stack {opts.stack_name}? [y/N] "
    try:
        answer = ctx.confirm(question)
    except EOFError:
        answer = ""
    if answer.strip().lower() not in {"y", "yes"}:
        raise NeedsDecision("nothing was imported or created (answered no)", hint="run again and answer yes")


def _run_import(
    ctx: Context, opts: DeployOptions, parameters: Sequence[Mapping[str, Any]], adopted: Sequence[Adoption]
) -> None:
    body = json.dumps(import_template(opts.template.doc, adopted), indent=1)
    url = None
    if needs_upload(body):
        assert opts.s3_bucket, "the full template is larger and was checked for an upload bucket"
        url = upload_template(ctx.s3(), body, opts.s3_bucket, opts.s3_prefix)
    # The import template (the retained resources alone), not the one deploy was given.
    request = replace(
        changeset.request_for(
            opts, "IMPORT", parameters, resources_to_import=[a.to_import() for a in adopted]
        ),
        template_body=body,
    )
    if url:
        request = request.uploaded(url)
    ctx.say(f"Creating IMPORT change set {request.name} ({len(adopted)} resource(s))")
    created = changeset.create(ctx.cfn, request)
    if created is None:
        raise ChangeSetFailed(f"import change set {request.name} was refused as holding no changes")
    change_set_id, stack_id = created
    ctx.progress.change_set, ctx.progress.stack = request.name, opts.stack_name
    page = changeset.wait_until_created(ctx.cfn, change_set_id, ctx.pacer)
    if page["Status"] != "CREATE_COMPLETE":
        raise ChangeSetFailed(
            f"import change set {request.name} is {page['Status']}: {page.get('StatusReason', '')}",
            hint="it is kept for inspection; nothing was imported. Remove or rename what the reason names, or run "
            "without --import-existing-resources",
        )
    result = operation(
        ctx,
        stack_id,
        lambda: ctx.cfn.execute_change_set(
            ChangeSetName=change_set_id, ClientRequestToken=changeset.execute_token(change_set_id)
        ),
        f"executing import change set {request.name} on stack {opts.stack_name}",
    )
    if result.stack.get("StackStatus") != "IMPORT_COMPLETE":
        raise failure(ctx, {"StackName": opts.stack_name, **result.stack}, result.events)
    ctx.progress.change_set, ctx.progress.executing = None, False
    ctx.say(f"Imported {len(adopted)} resource(s) into {opts.stack_name}; their contents were not touched")

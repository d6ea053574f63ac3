"""cfnspec/resource_kinds.py is the one table of resource types: every entry decides every fact, every type the
stack retains has an entry, and the deployer and the hand-off page read the same facts from it.

Before it, the leftover check, the page's free-name script, the import, the page's re-create recipe and the
teardown section each kept a list of types, and they disagreed (dashboards, KMS aliases, DynamoDB tables).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from cfnspec import resource_kinds
from cfnspec.resolve import Scope, parameter_values
from cfnspec.resource_kinds import (
    KINDS,
    NAME_LISTS,
    Adopt,
    Import,
    Kind,
    NameList,
    NotChecked,
    NotImported,
    OtherCheck,
    UnknownKind,
)
from cfnspec.schemas import resource_schema
from cfnspec.stateful import NAME_PROPERTIES, STATEFUL_TYPES, is_stateful, left_on_delete, why_stateful
from deployer import importing
from deployer.preflight import leftovers
from deployer.preflight.catalogue import CHECKS
from deployer.preflight.runner import make_context
from generator import recreate, teardown
from generator.preflight_cli import leftover_script

BUCKET, LOG_GROUP, KEY, ALIAS = "AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::KMS::Alias"


@pytest.mark.parametrize("rtype", list(KINDS))
def test_every_type_in_the_table_has_every_fact_decided(rtype: str) -> None:
    entry = KINDS[rtype]
    schema = resource_schema(rtype)
    assert schema, f"{rtype}: not a type cfn-lint's schemas know"
    assert entry.on_delete.strip() and entry.cleanup.strip(), (
        f"{rtype}: what a delete leaves, and how to remove it"
    )
    if entry.name_property is not None:
        assert entry.name_property in schema["properties"], (
            f"{rtype}: {entry.name_property} is not a property"
        )
    if isinstance(entry.imported, Import):
        # The ResourceIdentifier key an import sends is the schema's primary identifier.
        assert f"/properties/{entry.imported.key}" == schema["primaryIdentifier"][0], rtype
        if entry.imported.adopt is Adopt.BY_NAME:
            assert entry.name_property, f"{rtype}: adopted by name, but has no name property"
        recorded = entry.imported.adopt is not Adopt.WITH_ITS_KEY
        assert bool(entry.imported.still_there) == recorded, f"{rtype}: the page's still-there test"
    else:
        assert isinstance(entry.imported, NotImported) and entry.imported.why.strip(), f"{rtype}: why not"
    if entry.removal is not None:
        assert '"$ID"' in " ".join(entry.removal.lines), f"{rtype}: the removal acts on the recorded id"
    leftover = entry.leftover
    if isinstance(leftover, NameList):
        assert entry.name_property, f"{rtype}: a name is looked up, but it has no name property"
        _assert_name_list_is_a_real_call(rtype, leftover)
    elif isinstance(leftover, OtherCheck):
        assert leftover.check in {c.name for c in CHECKS}, f"{rtype}: {leftover.check} is no preflight check"
    else:
        assert isinstance(leftover, NotChecked) and leftover.why.strip(), (
            f"{rtype}: why its name is not checked"
        )


def _assert_name_list_is_a_real_call(rtype: str, lookup: NameList) -> None:
    """The operation, its prefix parameter, its list and the name in each item exist in botocore's model."""
    client = boto3.client(lookup.service, region_name="us-east-1")  # type: ignore[call-overload]
    model = client.meta.service_model.operation_model(lookup.operation)
    assert client.can_paginate(lookup.method()), f"{rtype}: {lookup.operation} has no paginator"
    if lookup.prefix:
        assert lookup.prefix in model.input_shape.members, f"{rtype}: {lookup.prefix}"
    items = model.output_shape.members[lookup.items]
    assert lookup.name_key in items.member.members, f"{rtype}: {lookup.items}[].{lookup.name_key}"
    assert "{name}" in lookup.remove and lookup.remove.startswith(f"aws {lookup.service} "), rtype


def test_every_stateful_or_retained_type_of_the_generated_template_has_an_entry(tpl: dict[str, Any]) -> None:
    missing = {
        str(r["Type"])
        for r in tpl["Resources"].values()
        if (is_stateful(r) or left_on_delete(r)) and r["Type"] not in KINDS
    }
    assert missing == set()


def test_a_type_named_in_the_table_as_stateful_is_guarded_and_a_dynamodb_table_is_stateful() -> None:
    """NAME_PROPERTIES listed DynamoDB tables, STATEFUL_TYPES did not: the guard let a table be replaced."""
    assert {t for t, k in KINDS.items() if k.stateful} == STATEFUL_TYPES
    assert why_stateful({"Type": "AWS::DynamoDB::Table"}) == "AWS::DynamoDB::Table"
    assert {t: k.name_property for t, k in KINDS.items() if k.name_property} == NAME_PROPERTIES


# --- leftovers: the page's free-name script and deploy.py preflight ----------------------------------------------


def _answers_nothing(service: str) -> Any:
    """A real client whose every call answers an empty 200 without leaving the process."""
    client = boto3.client(  # type: ignore[call-overload]
        service, region_name="us-east-1", aws_access_key_id="unit", aws_secret_access_key="unit"
    )
    client.meta.events.register(
        "before-call.*.*", lambda **_: (AWSResponse("https://unit", 200, HTTPHeaders(), None), {})
    )
    return client


def _preflight_lookups(t: dict[str, Any]) -> set[str]:
    """The logical ids whose names deploy.py preflight looks up: its leftovers check (read from the calls it
    makes) and its bucket-names check (every bucket with a BucketName)."""
    ctx = make_context(_answers_nothing, t, {"EnvironmentSuffix": "kinds"}, None, "us-east-1")
    ctx.facts.account_id = lambda: "123456789012"
    leftovers.check_leftovers(ctx)
    called = set(ctx.calls)
    named = {
        i: r for i, r in t["Resources"].items() if NAME_PROPERTIES.get(r["Type"]) in r.get("Properties", {})
    }
    looked_up = {
        i for i, r in named.items() if r["Type"] in NAME_LISTS and NAME_LISTS[r["Type"]].permission in called
    }
    return looked_up | {i for i, r in named.items() if r["Type"] == BUCKET}


def _page_lookups(t: dict[str, Any]) -> set[str]:
    script = leftover_script(t)
    return set(re.findall(r"  # (\w+)", script)) | set(re.findall(r"^# (\w+): 'free'", script, re.M))


def test_the_pages_leftover_script_and_preflight_check_the_same_names(tpl: dict[str, Any]) -> None:
    """The page checked the dashboard's name, preflight did not; CloudFormation's dashboard handler reads the name
    before it creates, so a dashboard left under it fails the create."""
    page = _page_lookups(tpl)
    assert page == _preflight_lookups(tpl)
    assert {"Dashboard", "KmsKeyAlias", "FlowLogGroup", "LogBucket"} <= page


# --- the import: the page's recipe and deploy.py ------------------------------------------------------------------


class _EverythingExists(importing.Lookups):
    """Every retained resource is still there, ours, and encrypted with the one key."""

    def __init__(self) -> None:
        super().__init__(lambda service: None)
        self.looked_up: list[tuple[str, str]] = []

    def bucket(self, name: str) -> str:
        self.looked_up.append(("bucket", name))
        return "ours"

    def bucket_key(self, name: str) -> str | None:
        return "1234abcd-key"

    def log_group(self, name: str) -> Mapping[str, Any] | None:
        self.looked_up.append(("log group", name))
        return {"logGroupName": name, "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-key"}

    def key(self, key_id: str) -> Mapping[str, Any] | None:
        self.looked_up.append(("key", key_id))
        if key_id.startswith("alias/"):
            return None  # the alias went with the stack
        return {"KeyId": key_id, "KeyState": "Enabled", "KeyManager": "CUSTOMER"}


def test_the_recipe_and_deploy_import_the_same_resources(tpl: dict[str, Any]) -> None:
    """Two lists of importable types: deploy.py's had AWS::KMS::Alias, the page's recipe did not."""
    assert set(importing._EXISTS) == {
        t for t, i in resource_kinds.IMPORTED.items() if i.adopt is Adopt.BY_NAME
    }
    pseudo = {"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1", "AWS::Partition": "aws"}
    scope = Scope(parameter_values(tpl, {"EnvironmentSuffix": "kinds"}), pseudo, tpl)
    plan = importing.plan_import(tpl, scope, _EverythingExists())
    assert {(a.logical_id, a.resource_type) for a in plan.adopted} == set(recreate.importable(tpl))
    page = recreate.recreate_script("tap-stack", tpl, 0)
    for _, rtype in recreate.importable(tpl):
        entry = resource_kinds.IMPORTED[rtype]
        lines = [line.strip() for line in page.splitlines()]
        assert lines[lines.index(f"{rtype})") + 1] == f"KEY={entry.key}"
        assert next(a for a in plan.adopted if a.resource_type == rtype).to_import()[
            "ResourceIdentifier"
        ].keys() == {entry.key}


def test_a_retained_alias_is_adopted_with_its_key_and_never_looked_up_as_a_log_group() -> None:
    """deploy.py listed the alias among the types adopted by name, and looked its name up as a log group."""
    doc = {
        "Resources": {
            "Key": {"Type": KEY, "DeletionPolicy": "Retain", "Properties": {}},
            "Alias": {
                "Type": ALIAS,
                "DeletionPolicy": "Retain",
                "Properties": {"AliasName": "alias/kept", "TargetKeyId": {"Ref": "Key"}},
            },
        }
    }

    class _AliasKept(_EverythingExists):
        def key(self, key_id: str) -> Mapping[str, Any] | None:
            self.looked_up.append(("key", key_id))
            return {"KeyId": "1234abcd-key", "KeyState": "Enabled", "KeyManager": "CUSTOMER"}

    lookups = _AliasKept()
    plan = importing.plan_import(doc, Scope({}, {}, doc), lookups)
    assert [(a.logical_id, a.physical_id) for a in plan.adopted] == [
        ("Key", "1234abcd-key"),
        ("Alias", "alias/kept"),
    ]
    assert lookups.looked_up == [("key", "alias/kept")] and plan.notes == ()


# --- the teardown section -----------------------------------------------------------------------------------------


def _retaining(*types: str) -> dict[str, Any]:
    return {"Resources": {f"R{n}": {"Type": t, "DeletionPolicy": "Retain"} for n, t in enumerate(types)}}


@pytest.mark.parametrize("rtype", list(KINDS))
def test_the_page_says_what_each_retained_type_leaves_and_gives_a_command_for_each_removable_one(
    rtype: str,
) -> None:
    """teardown listed a type in REMOVE as removable, but its script only walked REMOVE_ORDER."""
    page = "\n".join(teardown.stateful_section("s", _retaining(rtype)))
    entry: Kind = KINDS[rtype]
    assert f"- `{rtype}`: {entry.on_delete} {entry.cleanup}" in page
    if entry.removal is not None:
        assert f'$2 == "{rtype}"' in page and all(line in page for line in entry.removal.lines)
    else:
        assert "Remove them once" not in page


def test_keys_are_removed_after_what_may_be_encrypted_with_them() -> None:
    script = teardown.cleanup_script([KEY, LOG_GROUP, BUCKET, ALIAS])
    order = [script.index(f'$2 == "{t}"') for t in (BUCKET, LOG_GROUP, ALIAS, KEY)]
    assert order == sorted(order)


def test_a_retained_type_without_an_entry_is_an_error_naming_the_table() -> None:
    with pytest.raises(UnknownKind, match=r"R0 \(AWS::EFS::FileSystem\).*cfnspec/resource_kinds.py"):
        teardown.stateful_section("s", _retaining("AWS::EFS::FileSystem"))

"""Checks 4 and 5: the account's S3 Block Public Access against the template, and every bucket name it creates."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from cfnspec.resource_kinds import BUCKET, NAME_PROPERTIES
from deployer.clients import error_code, http_status
from deployer.preflight import ownership
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.model import Finding, Status

BPA = "s3-public-access"
NAMES = "bucket-names"
PUBLIC_ACLS = frozenset({"PublicRead", "PublicReadWrite", "AuthenticatedRead"})
# The S3 naming rules for general purpose buckets (docs: "General purpose bucket naming rules").
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def name_problems(name: str) -> list[str]:
    problems = []
    if not 3 <= len(name) <= 63:
        problems.append(f"is {len(name)} characters (3 to 63)")
    if not _NAME.fullmatch(name):
        problems.append(
            "may hold only lower-case letters, digits, dots and hyphens, starting and ending with a "
            "letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        problems.append("has adjacent dots, or a dot next to a hyphen")
    try:
        ipaddress.IPv4Address(name)
        problems.append("is formatted as an IP address")
    except ValueError:
        pass
    problems += [f"starts with the reserved prefix {p}" for p in _RESERVED_PREFIXES if name.startswith(p)]
    problems += [f"ends with the reserved suffix {s}" for s in _RESERVED_SUFFIXES if name.endswith(s)]
    return problems


def _asks_for_public_access(ctx: PreflightContext) -> list[str]:
    facts = ctx.facts
    asks = []
    for logical_id, resource in facts.active(BUCKET):
        props = facts.properties(resource)
        block = facts.resolve(props.get("PublicAccessBlockConfiguration"))
        if isinstance(block, Mapping) and any(str(v).lower() == "false" for v in block.values()):
            asks.append(f"{logical_id} turns part of Block Public Access off")
        if facts.resolve(props.get("AccessControl")) in PUBLIC_ACLS:
            asks.append(f"{logical_id} has a public ACL")
        if props.get("WebsiteConfiguration"):
            asks.append(f"{logical_id} is a public website endpoint")
    return asks


def check_public_access_block(ctx: PreflightContext) -> list[Finding]:
    asks = _asks_for_public_access(ctx)
    if not asks:
        # Nothing public is asked for, so no account setting can conflict; the account call is not needed.
        return []
    account = ctx.facts.pseudo("AWS::AccountId")
    try:
        config = ctx.client("s3control").get_public_access_block(AccountId=account)
        settings = config["PublicAccessBlockConfiguration"]
    except ClientError as err:
        if error_code(err) == "NoSuchPublicAccessBlockConfiguration":
            return [Finding(BPA, Status.PASS, f"no account-wide Block Public Access; {'; '.join(asks)}")]
        return [
            could_not_check(BPA, "the account's Block Public Access", err, "s3:GetAccountPublicAccessBlock")
        ]
    except AWS_ERRORS as err:
        return [
            could_not_check(BPA, "the account's Block Public Access", err, "s3:GetAccountPublicAccessBlock")
        ]
    on = sorted(k for k, v in settings.items() if v)
    if on:
        return [
            Finding(
                BPA,
                Status.FAIL,
                f"account-wide Block Public Access ({', '.join(on)}) overrides what the "
                f"template asks for: {'; '.join(asks)}",
                fix="serve the content through CloudFront instead, or (if public access is really "
                f"intended) aws s3control delete-public-access-block --account-id {account}",
            )
        ]
    return [Finding(BPA, Status.PASS, f"account-wide Block Public Access is off; {'; '.join(asks)}")]


def bucket_names(ctx: PreflightContext) -> dict[str, str]:
    """Bucket name -> logical id, for every bucket the template names (resolved with the parameters)."""
    facts = ctx.facts
    names = {}
    for logical_id, resource in facts.active(BUCKET):
        raw = facts.properties(resource).get(NAME_PROPERTIES[BUCKET])
        name = facts.text(raw) if raw is not None else None
        if name:
            names[name] = logical_id
    return names


def _owned_buckets(ctx: PreflightContext) -> set[str]:
    pages = ctx.client("s3").get_paginator("list_buckets").paginate()
    return {b["Name"] for page in pages for b in page.get("Buckets", [])}


def check_bucket_names(ctx: PreflightContext) -> list[Finding]:
    names = bucket_names(ctx)
    if not names:
        return []  # nothing to check: a check reports only on what the template has
    findings = []
    mine = ctx.facts.stack_resources() if not ctx.facts.creating else {}
    owned: set[str] | None = None
    for name, logical_id in names.items():
        problems = name_problems(name)
        if problems:
            findings.append(
                Finding(
                    NAMES,
                    Status.FAIL,
                    f"bucket name {name} ({logical_id}) {'; '.join(problems)}",
                    fix="choose parameter values that give a valid name",
                )
            )
            continue
        if mine.get(logical_id) == name:
            findings.append(
                Finding(NAMES, Status.PASS, f"bucket {name} ({logical_id}) already belongs to this stack")
            )
            continue
        try:
            ctx.client("s3").head_bucket(Bucket=name)
            status = 200
        except ClientError as err:
            status = http_status(err)
        except AWS_ERRORS as err:
            findings.append(could_not_check(NAMES, f"bucket {name}", err, "s3:ListBucket"))
            continue
        if status == 404:
            findings.append(
                Finding(NAMES, Status.PASS, f"bucket name {name} ({logical_id}) is valid and free")
            )
            continue
        if status == 403:
            findings.append(
                Finding(
                    NAMES,
                    Status.FAIL,
                    f"bucket name {name} ({logical_id}) is taken by another account",
                    fix="choose another EnvironmentSuffix (bucket names are global)",
                )
            )
            continue
        try:
            owned = _owned_buckets(ctx) if owned is None else owned
        except AWS_ERRORS as err:
            findings.append(could_not_check(NAMES, f"bucket {name}", err, "s3:ListAllMyBuckets"))
            continue
        findings.append(_existing(ctx, name, logical_id, name in owned, status))
    return findings


def _bucket_tags(ctx: PreflightContext, name: str) -> dict[str, str]:
    try:
        tag_set = ctx.client("s3").get_bucket_tagging(Bucket=name)["TagSet"]
    except ClientError as err:
        if error_code(err) == "NoSuchTagSet":
            return {}
        raise
    return {t["Key"]: t["Value"] for t in tag_set}


def _existing(ctx: PreflightContext, name: str, logical_id: str, owned: bool, status: Any) -> Finding:
    if not owned:
        return Finding(
            NAMES,
            Status.FAIL,
            f"bucket {name} ({logical_id}) exists and is not this account's (HeadBucket {status})",
            fix="choose another EnvironmentSuffix (bucket names are global)",
        )
    try:
        owner = ownership.live_owner(ctx, name, lambda: _bucket_tags(ctx, name))
    except AWS_ERRORS as err:
        return ownership.owner_unknown(NAMES, f"bucket {name}", logical_id, err)
    if owner is not None:
        return ownership.owned(NAMES, f"bucket {name}", logical_id, owner, ownership.this_stack(ctx))
    return Finding(
        NAMES,
        Status.FAIL,
        f"bucket {name} ({logical_id}) already exists in this account and belongs to no stack (retained by an "
        "earlier stack of the same environment?): the create would fail",
        fix="keep it and its objects: re-create with --import-existing-resources (deploy.py deploy adopts the "
        f"retained resources this template names into the new stack)\nor remove it, after keeping what you need: "
        f"aws s3 rb s3://{name} --force",
    )

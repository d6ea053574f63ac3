"""Check 1: the KMS key given by parameter exists here, is usable, and its policy (or its grants) lets every
service the stack wires to it use it.

What the services need is read from the template's own AWS::KMS::Key policy: the template swaps its own key for
the given one in exactly the places that key policy was written for, so each of its statements (other than the
account-root administration statement) is a use the given key must allow too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

import botocore.session

from cfnspec.policy import Principal, Request, allows, as_list, grant_allows, is_account_root
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.facts import UNRESOLVED, StackFacts, find_properties
from deployer.preflight.model import Finding, Status

KEY = "kms-key"
POLICY = "kms-policy"
KEY_PROPERTIES = frozenset({"KmsKeyId", "KmsMasterKeyId", "KMSMasterKeyID"})
KEY_ARN = re.compile(r"arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key/(.+)")
SAMPLE = "preflight"  # stands for the part a wildcard leaves open (a log group name, a distribution id)
STATE_FIXES = {
    "PendingDeletion": "aws kms cancel-key-deletion --key-id {key} && aws kms enable-key --key-id {key}",
    "PendingReplicaDeletion": "aws kms cancel-key-deletion --key-id {key} && aws kms enable-key --key-id {key}",
    "Disabled": "aws kms enable-key --key-id {key}",
    "PendingImport": "import the key material: aws kms get-parameters-for-import / import-key-material "
    "--key-id {key}",
}


@dataclass(frozen=True)
class Requirement:
    sid: str
    statement: Mapping[str, Any]  # resolved: the exact statement to add as the fix
    requests: tuple[Request, ...]


def keys_in_use(facts: StackFacts) -> dict[str, list[str]]:
    """Key id/ARN -> logical ids of the resources that encrypt with it, for keys that exist before the stack."""
    used: dict[str, list[str]] = {}
    for logical_id, resource in facts.active():
        for _, raw in find_properties(facts.properties(resource), KEY_PROPERTIES):
            value = facts.resolve(raw)
            if isinstance(value, str) and value and not value.startswith("alias/aws/"):
                used.setdefault(value, []).append(logical_id)
    return used


@cache
def _key_actions() -> tuple[str, ...]:
    """IAM actions that act on a key, from botocore's KMS model (ReEncrypt is authorised as From and To)."""
    model = botocore.session.get_session().get_service_model("kms")
    names: list[str] = []
    for op in model.operation_names:
        shape = model.operation_model(op).input_shape
        if shape is not None and {"KeyId", "SourceKeyId", "DestinationKeyId"} & set(shape.members):
            names += ["ReEncryptFrom", "ReEncryptTo"] if op == "ReEncrypt" else [op]
    return tuple(names)


def concrete_actions(pattern: str) -> list[str]:
    """The actions a service really calls for a pattern: GenerateDataKey* -> GenerateDataKey, Describe* ->
    DescribeKey, ReEncrypt* -> ReEncryptFrom and ReEncryptTo."""
    name = pattern.split(":", 1)[-1]
    if "*" not in name and "?" not in name:
        return [f"kms:{name}"]
    stem = name.rstrip("*")
    if stem in _key_actions():
        return [f"kms:{stem}"]
    return [f"kms:{a}" for a in _key_actions() if fnmatchcase(a.lower(), name.lower())]


def _sample(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("*", SAMPLE).replace("?", "x")


def _principals(statement: Mapping[str, Any]) -> list[Principal]:
    spec = statement.get("Principal")
    conditions = statement.get("Condition") or {}
    if spec == "*" or (isinstance(spec, Mapping) and "*" in as_list(spec.get("AWS"))):
        arns = [
            v for pairs in conditions.values() for k, v in pairs.items() if k.lower() == "aws:principalarn"
        ]
        return [Principal("AWS", str(a)) for v in arns for a in as_list(v)]
    if not isinstance(spec, Mapping):
        return []
    aws = [Principal("AWS", str(v)) for v in as_list(spec.get("AWS")) if not is_account_root(str(v))]
    return aws + [Principal("Service", str(v)) for v in as_list(spec.get("Service"))]


def _context(
    statement: Mapping[str, Any], principal: Principal, action: str, facts: StackFacts
) -> dict[str, str]:
    account = facts.pseudo("AWS::AccountId")
    context = {"aws:principalaccount": account, "kms:calleraccount": account, "aws:sourceaccount": account}
    if principal.kind == "AWS":
        context |= {
            "aws:principalarn": principal.value,
            "aws:principalisawsservice": "false",
            # Roles in this stack use the key for EBS volumes, whose KMS calls come through EC2.
            "kms:viaservice": f"ec2.{facts.region}.amazonaws.com",
        }
        if action == "kms:CreateGrant":
            context["kms:grantisforawsresource"] = "true"
    else:
        context["aws:principalisawsservice"] = "true"
    for operator, pairs in (statement.get("Condition") or {}).items():
        if "Not" in operator or operator.endswith("Null"):
            continue
        for key, expected in (pairs or {}).items():
            context[key.lower()] = _sample(as_list(expected)[0])
    return context


def requirements(facts: StackFacts) -> list[Requirement]:
    out = []
    for logical_id, resource in facts.resources.items():
        if resource.get("Type") != "AWS::KMS::Key":
            continue
        policy = facts.resolve(facts.properties(resource).get("KeyPolicy"))
        if isinstance(policy, str):
            policy = json.loads(policy)
        for i, statement in enumerate(as_list((policy or {}).get("Statement"))):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            if UNRESOLVED in _flatten(statement):
                continue
            requests = tuple(
                Request(p, action, _context(statement, p, action, facts))
                for p in _principals(statement)
                for pattern in as_list(statement.get("Action"))
                for action in concrete_actions(str(pattern))
            )
            if requests:
                out.append(
                    Requirement(str(statement.get("Sid") or f"{logical_id}[{i}]"), statement, requests)
                )
    return out


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [x for v in value.values() for x in _flatten(v)]
    if isinstance(value, list):
        return [x for v in value for x in _flatten(v)]
    return [value]


def check_kms(ctx: PreflightContext) -> list[Finding]:
    facts = ctx.facts
    used = keys_in_use(facts)
    if not used:
        return []  # the check is about an existing key given by parameter, and none is
    needs = requirements(facts)
    findings: list[Finding] = []
    for key, users in used.items():
        findings += _check_key(ctx, key, users, needs)
    return findings


def _check_key(ctx: PreflightContext, key: str, users: list[str], needs: list[Requirement]) -> list[Finding]:
    facts = ctx.facts
    match = KEY_ARN.fullmatch(key)
    if match and match.group(1) != facts.partition:
        return [
            Finding(
                KEY,
                Status.FAIL,
                f"key {key} is in partition {match.group(1)}, the stack in {facts.partition}",
                fix="give a key of this partition",
            )
        ]
    if match and match.group(2) != facts.region:
        return [
            Finding(
                KEY,
                Status.FAIL,
                f"key {key} is in {match.group(2)}, the stack in {facts.region}",
                fix=f"give a key in {facts.region} (a new key, or a multi-Region replica there)",
            )
        ]
    kms = ctx.client("kms")
    try:
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    except AWS_ERRORS as err:
        if getattr(err, "response", {}).get("Error", {}).get("Code") == "NotFoundException":
            return [
                Finding(
                    KEY,
                    Status.FAIL,
                    f"key {key} (used by {', '.join(users)}) does not exist in {facts.region}",
                    fix="give the ARN of an existing key, or leave the parameter "
                    "empty so that the stack creates one",
                )
            ]
        return [could_not_check(KEY, f"key {key}", err, "kms:DescribeKey")]
    problems = []
    state = str(meta.get("KeyState"))
    if state != "Enabled":
        problems.append(
            Finding(
                KEY,
                Status.FAIL,
                f"key {key} is {state}; EC2 would refuse it (Client.InvalidKMSKey.InvalidState)",
                fix=STATE_FIXES.get(state, "give an Enabled key").format(key=key),
            )
        )
    spec, usage = meta.get("KeySpec", "SYMMETRIC_DEFAULT"), meta.get("KeyUsage", "ENCRYPT_DECRYPT")
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        problems.append(
            Finding(
                KEY,
                Status.FAIL,
                f"key {key} is {spec}/{usage}; EBS, CloudWatch Logs, SNS "
                "and S3 need a symmetric ENCRYPT_DECRYPT key",
                fix="give a symmetric key",
            )
        )
    if not problems:
        problems.append(
            Finding(
                KEY,
                Status.PASS,
                f"key {key} is Enabled, symmetric ENCRYPT_DECRYPT, in "
                f"{facts.region} (used by {', '.join(users)})",
            )
        )
    return problems + _check_policy(ctx, str(meta.get("Arn", key)), needs)


def read_grants(
    ctx: PreflightContext, key_arn: str, check: str
) -> tuple[list[Mapping[str, Any]], Finding | None]:
    """Every grant of the key, or (what was read, a WARN) when ListGrants is refused or fails.

    A grant can allow what the key policy does not, so a caller that cannot read them must not FAIL on the
    policy alone: the WARN stands in for the verdict.
    """
    grants: list[Mapping[str, Any]] = []
    try:
        for page in ctx.client("kms").get_paginator("list_grants").paginate(KeyId=key_arn):
            grants += page.get("Grants", [])
    except AWS_ERRORS as err:
        return grants, could_not_check(check, f"the grants of {key_arn}", err, "kms:ListGrants")
    return grants, None


def _check_policy(ctx: PreflightContext, key_arn: str, needs: list[Requirement]) -> list[Finding]:
    if not needs:
        return []  # the template asks nothing of the key's policy
    kms = ctx.client("kms")
    try:
        policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    except AWS_ERRORS as err:
        return [could_not_check(POLICY, f"the policy of {key_arn}", err, "kms:GetKeyPolicy")]
    grants, grants_unread = read_grants(ctx, key_arn, POLICY)
    findings = []
    for need in needs:
        missing = [r for r in need.requests if not allows(policy, r, key_arn) and not grant_allows(grants, r)]
        if missing:
            who = ", ".join(sorted({str(r.principal) for r in missing}))
            actions = ", ".join(sorted({r.action for r in missing}))
            # Unread grants might allow what the policy does not: that is a WARN, never a verdict.
            status = Status.WARN if grants_unread else Status.FAIL
            findings.append(
                Finding(
                    POLICY,
                    status,
                    f"key {key_arn}: neither its policy nor a grant lets {who} call {actions} ({need.sid})",
                    fix="add this statement to the key policy:\n"
                    + json.dumps(need.statement, separators=(",", ":")),
                )
            )
    if grants_unread and findings:
        findings.append(grants_unread)
    if not findings:
        findings.append(
            Finding(
                POLICY,
                Status.PASS,
                f"key {key_arn}: its policy and grants allow all "
                f"{len(needs)} uses the template needs ({', '.join(n.sid for n in needs)})",
            )
        )
    return findings

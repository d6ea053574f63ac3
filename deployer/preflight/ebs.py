"""Check 3: EBS encryption by default and the default EBS key, against the volumes the stack launches.

A volume the template encrypts with an explicit KmsKeyId never uses the default key. A volume without one does when
encryption by default is on; if that default is a customer key the Auto Scaling role may not use, every launch fails.
The role may be let in by the key policy or by a grant; when ListGrants is refused, a policy that does not let it in
is a WARN (a grant may), never a FAIL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cfnspec.policy import Request, allows, grant_allows
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.facts import find_properties
from deployer.preflight.kms import Requirement, read_grants, requirements
from deployer.preflight.model import Finding, Status

CHECK = "ebs-defaults"
AWS_MANAGED_EBS_KEY = "alias/aws/ebs"


def _volumes_without_key(ctx: PreflightContext) -> tuple[int, list[str]]:
    facts = ctx.facts
    total, keyless = 0, []
    for logical_id, resource in facts.active(
        "AWS::EC2::LaunchTemplate", "AWS::EC2::Instance", "AWS::EC2::Volume"
    ):
        for path, ebs in find_properties(facts.properties(resource), frozenset({"Ebs"})):
            total += 1
            if not isinstance(ebs, dict) or not facts.resolve(ebs.get("KmsKeyId")):
                keyless.append(f"{logical_id}.{path}")
        if resource.get("Type") == "AWS::EC2::Volume":
            total += 1
            if not facts.resolve(facts.properties(resource).get("KmsKeyId")):
                keyless.append(logical_id)
    return total, keyless


def check_ebs_defaults(ctx: PreflightContext) -> list[Finding]:
    total, keyless = _volumes_without_key(ctx)
    if not total:
        return []  # nothing to check: a check reports only on what the template has
    ec2 = ctx.client("ec2")
    try:
        on = bool(ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"])
    except AWS_ERRORS as err:
        return [could_not_check(CHECK, "EBS encryption by default", err, "ec2:GetEbsEncryptionByDefault")]
    state = "on" if on else "off"
    if not keyless:
        return [
            Finding(
                CHECK,
                Status.INFO,
                f"EBS encryption by default is {state}; every volume in the template names its own key, so the "
                "default key is not used",
            )
        ]
    if not on:
        return [
            Finding(
                CHECK,
                Status.INFO,
                f"EBS encryption by default is off; {', '.join(keyless)} "
                "follow the template's Encrypted setting",
            )
        ]
    try:
        default_key = str(ec2.get_ebs_default_kms_key_id()["KmsKeyId"])
    except AWS_ERRORS as err:
        return [could_not_check(CHECK, "the default EBS key", err, "ec2:GetEbsDefaultKmsKeyId")]
    if default_key.endswith(AWS_MANAGED_EBS_KEY):
        return [
            Finding(
                CHECK,
                Status.PASS,
                f"EBS encryption by default is on with {AWS_MANAGED_EBS_KEY}, "
                "which every service role may use",
            )
        ]
    return _default_key_usable(ctx, default_key, keyless)


def _default_key_usable(ctx: PreflightContext, key: str, keyless: list[str]) -> list[Finding]:
    kms = ctx.client("kms")
    try:
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
        policy = json.loads(kms.get_key_policy(KeyId=meta["Arn"], PolicyName="default")["Policy"])
    except AWS_ERRORS as err:
        return [
            could_not_check(CHECK, f"the default EBS key {key}", err, "kms:DescribeKey, kms:GetKeyPolicy")
        ]
    role_needs = [n for n in requirements(ctx.facts) if any(r.principal.kind == "AWS" for r in n.requests)]
    missing = [n for n in role_needs if any(not allows(policy, r, meta["Arn"]) for r in _role_requests(n))]
    grants: list[Mapping[str, Any]] = []
    unread: Finding | None = None
    if missing and meta.get("KeyState") == "Enabled":
        # The Auto Scaling role is often let in through a grant rather than the key policy.
        grants, unread = read_grants(ctx, meta["Arn"], CHECK)
        missing = [n for n in missing if any(not grant_allows(grants, r) for r in _role_requests(n))]
    if meta.get("KeyState") != "Enabled" or missing:
        why = (
            f"is {meta.get('KeyState')}"
            if meta.get("KeyState") != "Enabled"
            else ("does not let the Auto Scaling role use it (" + ", ".join(n.sid for n in missing) + ")")
        )
        fix = (
            f"give those volumes a KmsKeyId, or: aws ec2 modify-ebs-default-kms-key-id --kms-key-id "
            f"{AWS_MANAGED_EBS_KEY} (or add the template's statements to that key's policy)"
        )
        if unread is not None and meta.get("KeyState") == "Enabled":
            # Unread grants might allow what the policy does not: a WARN, never a verdict.
            return [
                Finding(
                    CHECK,
                    Status.WARN,
                    f"EBS encryption by default uses {meta['Arn']}, whose policy does not let the Auto Scaling "
                    f"role use it ({', '.join(n.sid for n in missing)}) and whose grants could not be read",
                    fix=fix,
                ),
                unread,
            ]
        return [
            Finding(
                CHECK,
                Status.FAIL,
                f"EBS encryption by default uses {meta['Arn']}, which {why}; {', '.join(keyless)} would fail to launch",
                fix=fix,
            )
        ]
    return [Finding(CHECK, Status.PASS, f"EBS encryption by default uses {meta['Arn']}, usable by the stack")]


def _role_requests(need: Requirement) -> list[Request]:
    return [r for r in need.requests if r.principal.kind == "AWS"]

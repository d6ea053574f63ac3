"""Check 2: the Auto Scaling service-linked role exists, or the stack creates it, and not both.

The role is found by listing every role under the service's path with a paginator: an account can hold more than
one page of roles there (custom-suffix roles), and a role on page two is still there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.model import Finding, Status

CHECK = "service-linked-role"
SERVICE = "autoscaling.amazonaws.com"
ROLE_NAME = "AWSServiceRoleForAutoScaling"
PATH = f"/aws-service-role/{SERVICE}/"
CREATE_COMMAND = f"aws iam create-service-linked-role --aws-service-name {SERVICE}"


def _created_by_template(ctx: PreflightContext) -> list[str]:
    facts = ctx.facts
    return [
        logical_id
        for logical_id, resource in facts.active("AWS::IAM::ServiceLinkedRole")
        if facts.resolve(facts.properties(resource).get("AWSServiceName")) == SERVICE
        and not facts.properties(resource).get("CustomSuffix")
    ]


def _controlling_parameters(ctx: PreflightContext, logical_id: str) -> list[str]:
    """The parameters the resource's Condition reads: what to change so that the stack stops creating it."""
    facts = ctx.facts
    condition = facts.resources[logical_id].get("Condition")
    spec = (facts.template.get("Conditions") or {}).get(condition) if condition else None
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            ref = value.get("Ref")
            if isinstance(ref, str) and ref in facts.parameters:
                found.append(ref)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(spec)
    return found


def check_service_linked_role(ctx: PreflightContext) -> list[Finding]:
    facts = ctx.facts
    if not any(facts.active("AWS::AutoScaling::AutoScalingGroup")):
        return []  # nothing to check: a check reports only on what the template has
    creates = _created_by_template(ctx)
    try:
        pages = ctx.client("iam").get_paginator("list_roles").paginate(PathPrefix=PATH)
        exists = any(role["RoleName"] == ROLE_NAME for page in pages for role in page.get("Roles", []))
    except AWS_ERRORS as err:
        return [could_not_check(CHECK, ROLE_NAME, err, "iam:ListRoles")]
    if creates and exists and not facts.creating and creates[0] in facts.stack_resources():
        return [Finding(CHECK, Status.PASS, f"{ROLE_NAME} exists and belongs to this stack ({creates[0]})")]
    if creates and exists:
        params = _controlling_parameters(ctx, creates[0])
        how = " and ".join(f"{p}" for p in params) or "the template"
        return [
            Finding(
                CHECK,
                Status.FAIL,
                f"{ROLE_NAME} already exists and the stack would create it again ({creates[0]}): the create "
                "would fail",
                fix=f"change {how} so that the stack does not create it (e.g. "
                + ", ".join(f"--parameter-overrides {p}=false" for p in params)
                + ")",
            )
        ]
    if creates:
        return [
            Finding(
                CHECK, Status.PASS, f"{ROLE_NAME} does not exist yet; the stack creates it ({creates[0]})"
            )
        ]
    if exists:
        return [Finding(CHECK, Status.PASS, f"{ROLE_NAME} exists; the stack uses it")]
    return [
        Finding(
            CHECK,
            Status.INFO,
            f"{ROLE_NAME} does not exist yet; EC2 Auto Scaling creates it when the stack creates the group "
            "(the deploying identity needs iam:CreateServiceLinkedRole)",
            fix=f"or create it now: {CREATE_COMMAND}",
        )
    ]

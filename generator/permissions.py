"""output/<name>.deploy-policy.json: the IAM policy a principal needs to deploy the stack with the AWS CLI.

The actions per resource type come from the CloudFormation registry schemas bundled with cfn-lint
(`handlers.<operation>.permissions`), so a new resource type brings its permissions with it; the calls of the
procedure itself (change sets, the template upload, recovery) are listed once below.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cfnspec.schemas import resource_schema

Template = Mapping[str, Any]
HANDLERS = ("create", "read", "update", "delete")
# What the page's commands call besides the resources' own handlers.
PROCEDURE_ACTIONS = (
    "cloudformation:CancelUpdateStack",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:CreateChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
    "cloudformation:DescribeStacks",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:GetTemplateSummary",
    "cloudformation:ListStackResources",
    "cloudformation:ValidateTemplate",
    "s3:CreateBucket",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
)


def resource_types(t: Template) -> list[str]:
    return sorted({str(r.get("Type")) for r in t.get("Resources", {}).values()})


def schema(resource_type: str) -> Mapping[str, Any]:
    """The registry schema cfn-lint ships for a type; empty for a custom type (Custom::..., a private type)."""
    return resource_schema(resource_type)


def handler_actions(resource_type: str) -> list[str]:
    """Every permission the type's registry handlers declare; none for a type without handlers (a
    WaitConditionHandle is CloudFormation's own and calls no service)."""
    handlers = schema(resource_type).get("handlers", {})
    return sorted({a for op in HANDLERS for a in handlers.get(op, {}).get("permissions", [])})


def policy(t: Template) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "DeployProcedure", "Effect": "Allow", "Action": list(PROCEDURE_ACTIONS), "Resource": "*"}
    ]
    resource_actions = sorted({a for rtype in resource_types(t) for a in handler_actions(rtype)})
    statements.append(
        {"Sid": "StackResources", "Effect": "Allow", "Action": resource_actions, "Resource": "*"}
    )
    return {"Version": "2012-10-17", "Statement": statements}


def render_policy(t: Template) -> str:
    return json.dumps(policy(t), indent=2) + "\n"


def policy_file_name(name: str) -> str:
    return f"{name}.deploy-policy.json"

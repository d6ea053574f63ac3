"""The AWS operations the deployer's source calls, read from its syntax tree and named as botocore names them.

A client is recognised where it is made (`ctx.client("kms")`, `factory.cloudformation()`, `ctx.s3()`), through a
name bound to one in the same function (`kms = ctx.client("kms")`), or by the names the code gives a client it is
handed (`cfn`, `s3`). A method counts when botocore knows it for that service; `get_paginator("x")` and
`get_waiter("x")` count as the operation they call.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import boto3

FACTORY_METHODS = {"client", "_client"}  # x.client("service")
NAMED_FACTORIES = {"s3": "s3", "cloudformation": "cloudformation"}  # ClientFactory.s3(), .cloudformation()
CLIENT_NAMES = {"cfn": "cloudformation", "_cfn": "cloudformation", "s3": "s3"}  # a client passed in

# Where the IAM action is not the service's signing name and the operation name.
IAM_ACTIONS: dict[tuple[str, str], str | None] = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("sts", "GetCallerIdentity"): None,  # IAM cannot deny it: it needs no permission
}


@cache
def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _service(node: ast.expr, bound: dict[str, str]) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, args = node.func.attr, node.args
        if method in FACTORY_METHODS and args and isinstance(args[0], ast.Constant):
            return str(args[0].value)
        if method in NAMED_FACTORIES and not args:
            return NAMED_FACTORIES[method]
    if isinstance(node, ast.Name):
        return bound.get(node.id) or CLIENT_NAMES.get(node.id)
    if isinstance(node, ast.Attribute):  # self._cfn, ctx.cfn
        return CLIENT_NAMES.get(node.attr)
    return None


def _operation(service: str, method: str, args: list[ast.expr]) -> str | None:
    c = client(service)
    if method in ("get_paginator", "get_waiter") and args and isinstance(args[0], ast.Constant):
        name = str(args[0].value)
        return str(
            c.meta.method_to_api_mapping[name]
            if method == "get_paginator"
            else c.get_waiter(name).config.operation
        )
    return c.meta.method_to_api_mapping.get(method)


def calls_in(source: Path) -> set[tuple[str, str]]:
    """(botocore service name, operation name) of every AWS call in one module."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found: set[tuple[str, str]] = set()
    for scope in ast.walk(tree):
        if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        bound: dict[str, str] = {}
        for node in ast.walk(scope):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                service = _service(node.value, {})
                if service:
                    bound[node.targets[0].id] = service
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                service = _service(node.func.value, bound)
                operation = _operation(service, node.func.attr, node.args) if service else None
                if service and operation:
                    found.add((service, operation))
    return found


# Where IAM's service prefix is not the signing name.
IAM_PREFIXES = {"monitoring": "cloudwatch"}


def iam_action(service: str, operation: str) -> str | None:
    """The IAM action that authorises a call, or None for a call IAM does not authorise."""
    if (service, operation) in IAM_ACTIONS:
        return IAM_ACTIONS[(service, operation)]
    signing = client(service).meta.service_model.signing_name
    return f"{IAM_PREFIXES.get(signing, signing)}:{operation}"

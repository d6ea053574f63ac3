"""StackSets: one template rolled out by CloudFormation itself to many accounts and regions.

The decisions (what to create, which instances are missing, which failed) are pure functions of what the stack set
and its instances look like; the functions that call AWS stay thin and wait with the project's Pacer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from deployer.clients import api_error, aws_call, error_code
from deployer.waiting import POLL_ERRORS, Pacer

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

RUNNING = frozenset({"RUNNING", "QUEUED", "STOPPING"})
# An instance needs another try when its last operation did not leave it CURRENT.
FAILED_DETAIL = frozenset({"FAILED", "CANCELLED", "FAILED_IMPORT"})


@dataclass(frozen=True)
class Targets:
    """Where the instances go: accounts (self-managed) or organisational units (service-managed), and regions."""

    regions: tuple[str, ...]
    accounts: tuple[str, ...] = ()
    organizational_units: tuple[str, ...] = ()

    @property
    def service_managed(self) -> bool:
        return bool(self.organizational_units)

    def api(
        self, regions: Sequence[str] | None = None, accounts: Sequence[str] | None = None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Regions": list(regions or self.regions)}
        if self.service_managed:
            kwargs["DeploymentTargets"] = {"OrganizationalUnitIds": list(self.organizational_units)}
        else:
            kwargs["Accounts"] = list(accounts or self.accounts)
        return kwargs


@dataclass(frozen=True)
class Override:
    """Parameter values for the instances of one account or one region."""

    target: str  # a 12-digit account id or a region code
    values: Mapping[str, str]

    @property
    def is_account(self) -> bool:
        return self.target.isdigit()


@dataclass(frozen=True)
class StackSetSpec:
    name: str
    template_body: str
    parameters: Mapping[str, str]
    capabilities: Sequence[str]
    targets: Targets
    preferences: Mapping[str, Any] = field(default_factory=dict)
    overrides: Sequence[Override] = ()


def api_parameters(values: Mapping[str, str]) -> list[Any]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


def operation_preferences(
    region_order: Sequence[str],
    concurrency: str | None,
    max_count: int | None,
    max_percentage: int | None,
    tolerance_count: int | None,
    tolerance_percentage: int | None,
) -> dict[str, Any]:
    prefs: dict[str, Any] = {}
    if region_order:
        prefs["RegionOrder"] = list(region_order)
    if concurrency:
        prefs["RegionConcurrencyType"] = concurrency.upper()
    for key, value in (
        ("MaxConcurrentCount", max_count),
        ("MaxConcurrentPercentage", max_percentage),
        ("FailureToleranceCount", tolerance_count),
        ("FailureTolerancePercentage", tolerance_percentage),
    ):
        if value is not None:
            prefs[key] = value
    return prefs


# ---- pure decisions -------------------------------------------------------------------------------------------


def stack_set_changes(spec: StackSetSpec, existing: Mapping[str, Any] | None) -> list[str]:
    """What deploy would change on the stack set itself (not its instances)."""
    if existing is None:
        model = "SERVICE_MANAGED" if spec.targets.service_managed else "SELF_MANAGED"
        return [f"create stack set {spec.name} ({model})"]
    changes = []
    if _normalised(existing.get("TemplateBody", "")) != _normalised(spec.template_body):
        changes.append("update the template")
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in existing.get("Parameters") or []}
    changed = sorted(k for k, v in spec.parameters.items() if current.get(k) != v)
    if changed:
        changes.append(f"update parameters {', '.join(changed)}")
    return changes


def _normalised(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # YAML: compared as text
        return body.strip()


def missing_instances(targets: Targets, instances: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Self-managed: region -> accounts with no instance there yet."""
    have = {(i["Account"], i["Region"]) for i in instances}
    missing: dict[str, list[str]] = {}
    for region in targets.regions:
        accounts = [a for a in targets.accounts if (a, region) not in have]
        if accounts:
            missing[region] = accounts
    return missing


def failed_instances(instances: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        i
        for i in instances
        if i.get("Status") == "INOPERABLE"
        or (i.get("StackInstanceStatus") or {}).get("DetailedStatus") in FAILED_DETAIL
    ]


def instance_lines(instances: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = [("account", "region", "status", "detail", "reason")]
    for i in sorted(instances, key=lambda i: (i.get("Account", ""), i.get("Region", ""))):
        detail = (i.get("StackInstanceStatus") or {}).get("DetailedStatus", "-")
        rows.append(
            (
                i.get("Account", "?"),
                i.get("Region", "?"),
                i.get("Status", "?"),
                detail,
                i.get("StatusReason") or "-",
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    return ["  ".join([*(r[c].ljust(widths[c]) for c in range(4)), r[4]]).rstrip() for r in rows]


# ---- AWS calls ------------------------------------------------------------------------------------------------


def describe_stack_set(cfn: CloudFormationClient, name: str) -> dict[str, Any] | None:
    try:
        answer = cfn.describe_stack_set(StackSetName=name)
    except ClientError as err:
        if error_code(err) == "StackSetNotFoundException":
            return None
        raise api_error(err, f"reading stack set {name}") from err
    stack_set = dict(answer["StackSet"])
    return None if stack_set.get("Status") == "DELETED" else stack_set


def list_instances(cfn: CloudFormationClient, name: str) -> list[dict[str, Any]]:
    with aws_call(f"listing the instances of stack set {name}"):
        pages = cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
        return [dict(s) for page in pages for s in page.get("Summaries", [])]


def wait_for_operation(
    cfn: CloudFormationClient, name: str, operation_id: str, pacer: Pacer, say: Callable[[str], None]
) -> str:
    """Poll until the operation ends; print each failed instance's reason. Returns the final status."""
    while True:
        try:
            operation = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)
        except POLL_ERRORS as err:
            pacer.slow_down(
                err, f"stack set operation {operation_id}", f"reading operation {operation_id} of {name}"
            )
            continue
        status = str(operation["StackSetOperation"]["Status"])
        if status not in RUNNING:
            break
        pacer.tick(f"stack set operation {operation_id}", status)
    say(f"Operation {operation_id}: {status}")
    if status != "SUCCEEDED":
        with aws_call(f"reading the results of operation {operation_id}"):
            pages = cfn.get_paginator("list_stack_set_operation_results").paginate(
                StackSetName=name, OperationId=operation_id
            )
            for page in pages:
                for result in page.get("Summaries", []):
                    if result.get("Status") != "SUCCEEDED":
                        say(
                            f"  {result.get('Account', '?')} {result.get('Region', '?')}: {result.get('Status')}"
                            f" {result.get('StatusReason') or ''}".rstrip()
                        )
    return status

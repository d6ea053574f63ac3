"""Why a change set or a stack operation failed, in CloudFormation's own words: the DescribeEvents API.

CloudFormation validates change sets before execution and records each finding (the resource, the property path,
the rule and why) as an operation event; DescribeStackEvents does not carry them. The shape read here is botocore's
model of DescribeEvents (OperationEvents: EventType, LogicalResourceId, ResourceType, ValidationName,
ValidationStatus, ValidationStatusReason, ValidationPath, ValidationFailureMode, ResourceStatusReason, ...).

This read only explains a failure that is already being reported: when the call is denied, unknown to the
endpoint, or unknown to the installed botocore, one warning line says so and the failure is reported as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from deployer import features
from deployer.clients import error_code, error_message, is_access_denied

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_cloudformation import CloudFormationClient

_UNKNOWN = frozenset(
    {
        "InvalidAction",
        "UnknownOperation",
        "UnknownOperationException",
        "NotImplemented",
        "UnsupportedOperation",
    }
)
# Events that explain a failure; progress and plain stack events repeat what DescribeStackEvents already showed.
_FINDINGS = frozenset({"VALIDATION_ERROR", "PROVISIONING_ERROR", "HOOK_INVOCATION_ERROR"})


@dataclass(frozen=True)
class Finding:
    kind: str  # the EventType
    logical_id: str
    resource_type: str
    path: str
    rule: str
    mode: str  # FAIL or WARN, for validations
    reason: str

    def line(self) -> str:
        where = self.logical_id + (f" ({self.resource_type})" if self.resource_type else "")
        if self.path:
            where += f" at {self.path}"
        rule = f" [{self.rule}{', ' + self.mode if self.mode else ''}]" if self.rule else ""
        return f"  {self.kind.lower().replace('_', ' ')}: {where}{rule}: {self.reason}"


def _finding(event: Mapping[str, Any]) -> Finding:
    return Finding(
        kind=str(event.get("EventType", "")),
        logical_id=str(event.get("LogicalResourceId") or "(stack)"),
        resource_type=str(event.get("ResourceType") or ""),
        path=str(event.get("ValidationPath") or ""),
        rule=str(event.get("ValidationName") or ""),
        mode=str(event.get("ValidationFailureMode") or ""),
        reason=str(
            event.get("ValidationStatusReason")
            or event.get("HookStatusReason")
            or event.get("ResourceStatusReason")
            or "(no reason given)"
        ),
    )


def is_finding(event: Mapping[str, Any]) -> bool:
    if event.get("EventType") in _FINDINGS:
        return True
    return event.get("ValidationStatus") == "FAILED"


def read_findings(cfn: CloudFormationClient, **selector: Any) -> list[Finding]:
    """Every page of DescribeEvents for one change set or operation (botocore has a paginator for it)."""
    found: list[Finding] = []
    for page in cfn.get_paginator("describe_events").paginate(**selector):
        found += [_finding(e) for e in page.get("OperationEvents", []) if is_finding(e)]
    return found


def _why_unavailable(err: Exception) -> str:
    if isinstance(err, ClientError):
        code = error_code(err)
        if is_access_denied(err):
            return f"denied ({code}): add cloudformation:DescribeEvents to the deploying role"
        if code in _UNKNOWN or "unknown operation" in error_message(err).lower():
            return f"this endpoint does not know DescribeEvents ({code})"
        return f"{code}: {error_message(err)}"
    return f"{type(err).__name__}: {err}"


def explain(
    cfn: CloudFormationClient, say: Callable[[str], None], subject: str, **selector: Any
) -> list[Finding]:
    """Print CloudFormation's findings for `subject`; on any problem reading them, one warning line instead."""
    if not features.supported(features.DESCRIBE_EVENTS):
        say(
            "warning: the installed botocore does not know DescribeEvents, so only the status reason is shown "
            "(upgrade boto3/botocore for CloudFormation's validation findings)"
        )
        return []
    try:
        found = read_findings(cfn, **selector)
    # The failure being explained is the news: a failed diagnostic read (even a client-side one) must not hide it.
    except (ClientError, BotoCoreError) as err:
        say(f"warning: could not read CloudFormation's findings for {subject}: {_why_unavailable(err)}")
        return []
    if found:
        say(f"CloudFormation's findings for {subject}:")
        for finding in found:
            say(finding.line())
    return found


def explain_change_set(cfn: CloudFormationClient, say: Callable[[str], None], change_set_id: str) -> None:
    explain(cfn, say, f"change set {change_set_id}", ChangeSetName=change_set_id)


def last_operation_ids(stack: Mapping[str, Any]) -> list[str]:
    ops: Sequence[Mapping[str, Any]] = stack.get("LastOperations") or []
    return [str(op["OperationId"]) for op in ops if op.get("OperationId")]


def explain_operation(
    cfn: CloudFormationClient, say: Callable[[str], None], stack: Mapping[str, Any]
) -> None:
    """Findings of the stack's last operations (DescribeStacks LastOperations), failed events only.

    A stack read from an endpoint that does not report LastOperations has no operation id to ask about.
    """
    for operation_id in last_operation_ids(stack):
        explain(
            cfn,
            say,
            f"operation {operation_id}",
            StackName=str(stack.get("StackId") or stack.get("StackName")),
            OperationId=operation_id,
            Filters={"FailedEvents": True},
        )

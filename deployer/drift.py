"""The drift command: detect drift, wait for the detection, print every drifted resource property by property."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from deployer.clients import (
    api_error,
    aws_call,
    error_code,
    error_message,
    http_status,
    is_not_implemented,
    is_stack_missing,
)
from deployer.errors import BadInput, DriftUnknown, ExitCode, WaitTimedOut
from deployer.runtime import Context
from deployer.waiting import POLL_ERRORS

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

    from deployer.waiting import Pacer

# Only these statuses are drift; IN_SYNC and NOT_CHECKED resources are left out of the listing.
DRIFTED_STATUSES = ("MODIFIED", "DELETED")
_MAX_VALUE = 200  # longer expected/actual values are cut in the terminal (the report file keeps them whole)


@dataclass(frozen=True)
class Difference:
    path: str
    kind: str  # ADD / REMOVE / NOT_EQUAL
    expected: str | None
    actual: str | None


@dataclass(frozen=True)
class DriftedResource:
    logical_id: str
    resource_type: str
    physical_id: str
    status: str  # MODIFIED or DELETED
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class DriftResult:
    stack_name: str
    detection_status: str  # DETECTION_COMPLETE / DETECTION_FAILED
    stack_status: str  # DRIFTED / IN_SYNC / UNKNOWN / NOT_CHECKED
    reason: str
    resources: tuple[DriftedResource, ...]

    @property
    def exit_code(self) -> ExitCode:
        if self.detection_status != "DETECTION_COMPLETE":
            return ExitCode.DRIFT_UNKNOWN
        return ExitCode.DRIFTED if self.stack_status == "DRIFTED" or self.resources else ExitCode.SUCCESS


def not_implemented(err: ClientError, stack_name: str, operation: str) -> DriftUnknown:
    """The endpoint has no drift detection (an emulator, a partition without it): drift is unknown, exit 12.
    Asking again cannot change that, so nothing is retried and no rerun is suggested."""
    return DriftUnknown(
        f"drift of {stack_name} is unknown: this endpoint does not implement drift detection ({operation} "
        f"answered {error_code(err) or http_status(err)}: {error_message(err)})",
        hint="run drift against an endpoint that implements DetectStackDrift (AWS CloudFormation does)",
    )


def start_detection(cfn: CloudFormationClient, stack_name: str) -> str:
    try:
        return cfn.detect_stack_drift(StackName=stack_name)["StackDriftDetectionId"]
    except ClientError as err:
        if is_stack_missing(err):
            raise BadInput(f"stack {stack_name} does not exist (in this region/account)") from err
        if is_not_implemented(err):
            raise not_implemented(err, stack_name, "DetectStackDrift") from err
        raise api_error(err, f"starting drift detection on {stack_name}") from err


def wait_for_detection(cfn: CloudFormationClient, detection_id: str, pacer: Pacer) -> dict[str, Any]:
    """Poll until detection is no longer in progress.

    botocore ships no waiter for drift detection (the CloudFormation waiter model covers stacks, change sets,
    stack imports and type registration only), so this loop polls on the project's Pacer: the same adaptive
    schedule, deadline and throttling back-off as every other wait.
    """
    while True:
        try:
            answer = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
        except POLL_ERRORS as err:
            pacer.slow_down(err, f"drift detection {detection_id}", f"reading drift detection {detection_id}")
            continue
        if answer["DetectionStatus"] != "DETECTION_IN_PROGRESS":
            return dict(answer)
        pacer.tick(f"drift detection {detection_id}", "DETECTION_IN_PROGRESS")


def read_drifts(cfn: CloudFormationClient, stack_name: str) -> list[DriftedResource]:
    """Every page of DescribeStackResourceDrifts, drifted resources only.

    botocore has no paginator for DescribeStackResourceDrifts, so the NextToken is followed here.
    """
    kwargs: dict[str, Any] = {
        "StackName": stack_name,
        "StackResourceDriftStatusFilters": list(DRIFTED_STATUSES),
    }
    found: list[DriftedResource] = []
    with aws_call(f"reading the resource drifts of {stack_name}"):
        while True:
            page = cfn.describe_stack_resource_drifts(**kwargs)
            found += [_resource(item) for item in page.get("StackResourceDrifts", [])]
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token


def _resource(item: Any) -> DriftedResource:
    return DriftedResource(
        logical_id=str(item.get("LogicalResourceId", "?")),
        resource_type=str(item.get("ResourceType", "?")),
        physical_id=str(item.get("PhysicalResourceId", "")),
        status=str(item.get("StackResourceDriftStatus", "?")),
        differences=tuple(
            Difference(
                path=str(d.get("PropertyPath", "?")),
                kind=str(d.get("DifferenceType", "?")),
                expected=d.get("ExpectedValue"),
                actual=d.get("ActualValue"),
            )
            for d in item.get("PropertyDifferences") or []
        ),
    )


def detect(ctx: Context, stack_name: str) -> DriftResult:
    detection_id = start_detection(ctx.cfn, stack_name)
    ctx.say(f"Detecting drift on {stack_name} ({detection_id})")
    try:
        status = wait_for_detection(ctx.cfn, detection_id, ctx.pacer)
    except WaitTimedOut as err:
        raise DriftUnknown(
            f"drift detection on {stack_name} did not finish in time, so drift is unknown: {err.message}",
            hint="run the same command again later, or raise --timeout",
        ) from err
    detection = str(status["DetectionStatus"])
    resources: list[DriftedResource] = []
    # A failed detection can still have checked (and found drift in) some resources: show what it found.
    if detection == "DETECTION_COMPLETE" or int(status.get("DriftedStackResourceCount") or 0) > 0:
        resources = read_drifts(ctx.cfn, stack_name)
    return DriftResult(
        stack_name=stack_name,
        detection_status=detection,
        stack_status=str(status.get("StackDriftStatus", "UNKNOWN")),
        reason=str(status.get("DetectionStatusReason", "")),
        resources=tuple(resources),
    )


def _short(value: str | None) -> str:
    text = "(none)" if value is None else value
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def text_lines(result: DriftResult) -> list[str]:
    lines: list[str] = []
    for res in result.resources:
        lines.append(f"  {res.status:<9} {res.logical_id} ({res.resource_type}) {res.physical_id}".rstrip())
        if res.status == "DELETED":
            lines.append("      the resource no longer exists")
        for diff in res.differences:
            lines.append(f"      {diff.path} [{diff.kind}]")
            lines.append(f"        expected: {_short(diff.expected)}")
            lines.append(f"        actual:   {_short(diff.actual)}")
    return lines


def _cell(value: str | None) -> str:
    text = "(none)" if value is None else value
    return "`" + text.replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"


def markdown(result: DriftResult) -> str:
    verdict = {
        ExitCode.SUCCESS: "in sync with its template",
        ExitCode.DRIFTED: f"**drifted**: {len(result.resources)} resource(s) differ from the template",
        ExitCode.DRIFT_UNKNOWN: f"drift **unknown**: detection {result.detection_status}",
    }[result.exit_code]
    out = [f"## Drift of stack `{result.stack_name}`", "", f"The stack is {verdict}."]
    if result.reason:
        out += ["", f"Detection: {result.reason}"]
    for res in result.resources:
        out += ["", f"### {res.logical_id} ({res.resource_type}): {res.status}", ""]
        if res.physical_id:
            out += [f"Physical id: `{res.physical_id}`", ""]
        if not res.differences:
            out.append("The resource was deleted outside CloudFormation." if res.status == "DELETED" else "")
            continue
        out += ["| property | difference | expected | actual |", "| --- | --- | --- | --- |"]
        out += [
            f"| `{d.path}` | {d.kind} | {_cell(d.expected)} | {_cell(d.actual)} |" for d in res.differences
        ]
    return "\n".join(out).rstrip() + "\n"


def run_drift(ctx: Context, stack_name: str, report_file: Path | None = None) -> ExitCode:
    result = detect(ctx, stack_name)
    code = result.exit_code
    if result.detection_status != "DETECTION_COMPLETE":
        ctx.say(f"Drift detection {result.detection_status}: {result.reason or 'no reason given'}")
    for line in text_lines(result):
        ctx.say(line)
    if report_file:
        report_file.write_text(markdown(result), encoding="utf-8")
        ctx.say(f"Wrote the drift report to {report_file}")
    if code is ExitCode.DRIFT_UNKNOWN:
        raise DriftUnknown(
            f"drift detection on {stack_name} ended {result.detection_status}: "
            f"{result.reason or 'no reason given'}",
            hint="fix what the reason names (often a resource type that does not support drift detection, or "
            "a missing read permission), then run again",
        )
    if code is ExitCode.DRIFTED:
        ctx.say(
            f"Stack {stack_name} has drifted: {len(result.resources)} resource(s) differ from the template. "
            "`deploy --revert-drift` restores the template's values"
        )
    else:
        ctx.say(f"Stack {stack_name} is in sync with its template")
    return code

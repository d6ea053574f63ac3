"""Change sets: create with a unique name and token, wait, read every page, print, clean up."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from deployer import failure_modes
from deployer.clients import api_error, aws_call, error_code, error_message
from deployer.errors import BadInput
from deployer.waiting import POLL_ERRORS, Pacer

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

    from deployer.options import DeployOptions

PREFIX = "tap-deploy"
# An unexecuted change set of ours younger than this may belong to a run still in progress (a review waiting for
# approval, a prompt on someone's terminal); older ones are left-overs that the next run removes.
STALE_AFTER = timedelta(hours=24)
_RAN = frozenset({"EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE"})  # its operation is, or was, the stack's own
# Exactly what new_change_set_name makes: a person's "tap-deploy-hotfix" is not ours to delete.
_OUR_NAME = re.compile(rf"{PREFIX}-(create|update)-[0-9a-f]{{32}}")
_NOT_FOUND = frozenset({"ChangeSetNotFound", "ChangeSetNotFoundException"})
# CreateChangeSet answers quickly with one of these; anything else is final (FAILED, or deleted meanwhile).
_CREATING = frozenset({"CREATE_PENDING", "CREATE_IN_PROGRESS"})
_NO_CHANGES_WORDINGS = (
    "didn't contain changes",  # a FAILED change set: "The submitted information didn't contain changes. ..."
    "does not contain changes",  # the same message in older and some regional wordings
    "no updates are to be performed",  # a ValidationError from CreateChangeSet / UpdateStack
)


def is_no_changes(reason: str | None) -> bool:
    """Both ways AWS says "nothing to change": a FAILED change set's reason or a ValidationError message."""
    text = (reason or "").lower()
    return any(wording in text for wording in _NO_CHANGES_WORDINGS)


def new_change_set_name(kind: str) -> str:
    """Prefix (so cleanup only touches ours), kind (readable in the console) and a UUID (two runs never collide)."""
    return f"{PREFIX}-{kind.lower()}-{uuid.uuid4().hex}"


def is_ours(name: str) -> bool:
    return _OUR_NAME.fullmatch(name) is not None


def execute_token(change_set_id: str) -> str:
    """ClientRequestToken for ExecuteChangeSet: one per change set, from the UUID at the end of its ARN.

    A retry of the same execution carries the same token; a later change set with a reused name (CodePipeline
    reuses names) gets a new one, so CloudFormation never mistakes a new execution for a retry of an old one.
    """
    tail = change_set_id.rstrip("/").rsplit("/", 1)[-1]
    return ("exec-" + re.sub(r"[^A-Za-z0-9-]", "-", tail))[:128]


@dataclass(frozen=True)
class ChangeSetRequest:
    stack_name: str
    change_set_type: str  # CREATE, UPDATE or IMPORT
    parameters: Sequence[Mapping[str, Any]]
    capabilities: Sequence[str]
    tags: Mapping[str, str]
    template_body: str | None = None
    template_url: str | None = None
    role_arn: str | None = None
    notification_arns: Sequence[str] = ()
    rollback_alarms: Sequence[str] = ()
    name: str = field(default="")
    # OnStackFailure / DeploymentMode (deployer.failure_modes), sent as given.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def api_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "StackName": self.stack_name,
            "ChangeSetName": self.name,
            # The token makes botocore's retries of this very request idempotent.
            "ClientToken": self.name,
            "ChangeSetType": self.change_set_type,
            "Parameters": list(self.parameters),
            "Description": f"Created by deploy.py ({self.change_set_type.lower()})",
        }
        if self.capabilities:
            kwargs["Capabilities"] = list(self.capabilities)
        # Tags are sent only when given: on an update an empty list would remove every tag from the stack (and
        # its resources), while leaving the parameter out keeps them.
        if self.tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]
        if self.template_url:
            kwargs["TemplateURL"] = self.template_url
        else:
            kwargs["TemplateBody"] = self.template_body
        if self.role_arn:
            kwargs["RoleARN"] = self.role_arn
        if self.notification_arns:
            kwargs["NotificationARNs"] = list(self.notification_arns)
        if self.rollback_alarms:
            kwargs["RollbackConfiguration"] = {
                "RollbackTriggers": [
                    {"Arn": arn, "Type": "AWS::CloudWatch::Alarm"} for arn in self.rollback_alarms
                ]
            }
        kwargs.update(self.extra)
        return kwargs

    def uploaded(self, url: str) -> ChangeSetRequest:
        """The same request with the template passed by its S3 URL (over the inline limit)."""
        return replace(self, template_body=None, template_url=url)


def request_for(
    opts: DeployOptions,
    change_set_type: str,
    parameters: Sequence[Mapping[str, Any]],
    name: str = "",
    resources_to_import: Sequence[Mapping[str, Any]] = (),
) -> ChangeSetRequest:
    """The CreateChangeSet request a deploy run sends, built here only: deploy's, the one preflight has
    CloudFormation validate and the IMPORT of --import-existing-resources share it. BadInput when a flag cannot
    apply to this stack (CREATE or UPDATE), so call it before anything is cleaned up or uploaded; `uploaded` then
    swaps the body for its URL.

    An IMPORT only adopts resources as they are: --on-failure, --revert-drift and the rollback alarms are about
    creating and updating, and the UPDATE that follows the import (which creates the rest) carries them.
    """
    if change_set_type == "IMPORT":
        extra: dict[str, Any] = {"ResourcesToImport": list(resources_to_import)}
        alarms: Sequence[str] = ()
    else:
        extra = failure_modes.change_set_kwargs(
            change_set_type, opts.on_failure, opts.revert_drift, opts.stack_name
        )
        alarms = opts.rollback_alarms
    return ChangeSetRequest(
        stack_name=opts.stack_name,
        change_set_type=change_set_type,
        parameters=parameters,
        capabilities=opts.capabilities,
        tags=opts.tags,
        template_body=opts.template.body,
        role_arn=opts.role_arn,
        notification_arns=opts.notification_arns,
        rollback_alarms=alarms,
        name=name or new_change_set_name(change_set_type),
        extra=extra,
    )


@dataclass(frozen=True)
class ChangeSet:
    id: str
    name: str
    stack_id: str
    status: str
    execution_status: str
    reason: str
    changes: list[dict[str, Any]]
    parameters: list[dict[str, Any]] = field(default_factory=list)  # the values the change set was made with

    @property
    def empty(self) -> bool:
        return self.status == "FAILED" and is_no_changes(self.reason)


def create(cfn: CloudFormationClient, request: ChangeSetRequest) -> tuple[str, str] | None:
    """(change set id, stack id), or None when AWS refuses at once because nothing changed."""
    try:
        answer = cfn.create_change_set(**request.api_kwargs())
    except ClientError as err:
        if is_no_changes(error_message(err)):
            return None
        raise api_error(err, f"creating change set {request.name}") from err
    return answer["Id"], answer["StackId"]


def wait_until_created(cfn: CloudFormationClient, change_set_id: str, pacer: Pacer) -> dict[str, Any]:
    """Poll the first page until the change set is no longer being created; returns that page.

    The first poll waits one interval: CloudFormation never has a change set ready the instant it accepts it.
    """
    paginator = cfn.get_paginator("describe_change_set")
    name = change_set_id.rstrip("/").rsplit(":changeSet/", 1)[-1].split("/")[0]
    pacer.tick(f"change set {name}", "CREATE_PENDING")
    while True:
        try:
            page = next(iter(paginator.paginate(ChangeSetName=change_set_id)))
        except POLL_ERRORS as err:
            pacer.slow_down(err, f"change set {name}", f"reading change set {name}")
            continue
        if page["Status"] not in _CREATING:
            return dict(page)
        pacer.tick(f"change set {name}", str(page["Status"]))


def describe(cfn: CloudFormationClient, change_set: str, stack_name: str | None = None) -> ChangeSet:
    """Every page of the change set, with before/after property values."""
    kwargs: dict[str, Any] = {"ChangeSetName": change_set, "IncludePropertyValues": True}
    if stack_name:
        kwargs["StackName"] = stack_name
    changes: list[dict[str, Any]] = []
    head: dict[str, Any] = {}
    try:
        for page in cfn.get_paginator("describe_change_set").paginate(**kwargs):
            head = head or dict(page)
            changes += [dict(c.get("ResourceChange", {})) for c in page.get("Changes", [])]
    except ClientError as err:
        if error_code(err) in _NOT_FOUND:
            raise BadInput(
                f"no change set {change_set} for stack {stack_name or '?'}",
                hint="list the stack's change sets with `deploy.py status --stack-name NAME`",
            ) from err
        raise api_error(err, f"reading change set {change_set}") from err
    return ChangeSet(
        id=head["ChangeSetId"],
        name=head["ChangeSetName"],
        stack_id=head["StackId"],
        status=head["Status"],
        execution_status=head.get("ExecutionStatus", ""),
        reason=head.get("StatusReason", ""),
        changes=changes,
        parameters=[dict(p) for p in head.get("Parameters") or []],
    )


def format_changes(changes: Sequence[Mapping[str, Any]]) -> list[str]:
    if not changes:
        return ["  (no resource changes: parameters, outputs, tags or notification settings only)"]
    lines = [f"  {'Action':<8} {'Logical id':<40} {'Type':<42} {'Replacement':<12} Scope"]
    for change in changes:
        replacement = change.get("Replacement") or "-"
        scope = ",".join(change.get("Scope") or []) or "-"
        lines.append(
            f"  {change.get('Action', '?'):<8} {change.get('LogicalResourceId', '?'):<40} "
            f"{change.get('ResourceType', '?'):<42} {replacement:<12} {scope}"
        )
        lines += [f"      {_detail(d)}" for d in change.get("Details") or []]
    return lines


def _detail(detail: Mapping[str, Any]) -> str:
    target = detail.get("Target") or {}
    name = target.get("Path") or target.get("Name") or target.get("Attribute", "?")
    text = f"{name} [recreation: {target.get('RequiresRecreation', '-')}]"
    if "BeforeValue" in target or "AfterValue" in target:
        text += f": {_short(target.get('BeforeValue'))} -> {_short(target.get('AfterValue'))}"
    return text


def _short(value: Any, limit: int = 60) -> str:
    text = "(none)" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def delete(cfn: CloudFormationClient, change_set_id: str) -> None:
    with aws_call(f"deleting change set {change_set_id}"):
        cfn.delete_change_set(ChangeSetName=change_set_id)


def is_stale(summary: Mapping[str, Any], now: datetime) -> bool:
    """A change set of ours that no run can still be reviewing or about to execute: FAILED, or older than
    STALE_AFTER. An AVAILABLE one made minutes ago may be the one a person at a terminal is being asked about."""
    if summary.get("Status") == "FAILED":
        return True
    if summary.get("ExecutionStatus") in _RAN:
        return False
    created = summary.get("CreationTime")
    return isinstance(created, datetime) and now - created > STALE_AFTER


def clean_up_stale(
    cfn: CloudFormationClient,
    stack_name: str,
    say: Callable[[str], None],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Delete this tool's change sets (exactly its names) that are FAILED or older than STALE_AFTER.

    Never a recent unexecuted one: another run (CI, a colleague's terminal) may still be showing or executing it.
    Others' change sets are not ours to touch at all."""
    # Collect first, delete after: deleting while paging could shift the pages under the paginator.
    found: list[str] = []
    with aws_call(f"listing old change sets of {stack_name}"):
        for page in cfn.get_paginator("list_change_sets").paginate(StackName=stack_name):
            for summary in page.get("Summaries", []):
                mine = summary.get("StackName") in (None, stack_name) and is_ours(
                    summary.get("ChangeSetName", "")
                )
                if mine and is_stale(summary, now()):
                    found.append(summary["ChangeSetId"])
    removed = 0
    for change_set_id in found:
        try:
            cfn.delete_change_set(ChangeSetName=change_set_id)
            removed += 1
        except ClientError as err:
            # Another run may have removed it meanwhile: gone is what this cleanup wanted.
            if error_code(err) not in _NOT_FOUND:
                raise api_error(err, f"deleting old change set {change_set_id}") from err
    if removed:
        hours = int(STALE_AFTER.total_seconds() // 3600)
        say(
            f"Removed {removed} failed (or over {hours} h old) change set(s) left by earlier runs of this tool"
        )
    return removed

"""Check 8: CloudFormation's validation through a throw-away change set, with Stubber (moto has no DescribeEvents,
hook results or validation findings). Every scenario ends with the change set deleted, and the stack too when the
CREATE change set made it."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectionClosedError
from botocore.stub import ANY

from deployer import features
from deployer.changeset import ChangeSetRequest
from deployer.preflight import online
from deployer.preflight.model import Status
from deployer.preflight.online import ChangeSetInputs, check_online
from deployer.waiting import Pacer
from emulator.server import MotoServer
from tests.deploy._preflight import REGION, moto_context, one, stubbed_context
from tests.deploy.conftest import CS_ID, SMALL_TEMPLATE, STACK, STACK_ID, FakeClock

EXISTING = {"StackName": STACK, "StackId": STACK_ID, "StackStatus": "UPDATE_COMPLETE", "Parameters": []}


def inputs(kind: str, body: str = "{}", stack_name: str = STACK) -> ChangeSetInputs:
    clock = FakeClock()
    request = ChangeSetRequest(stack_name, kind, [], [], {}, template_body=body, name=online.new_name())
    return ChangeSetInputs(request, template_url=lambda: None, pacer=Pacer(clock.sleep, clock.time, 60, 0, 0))


def expect_change_set(cfn: Any, kind: str, status: str = "CREATE_COMPLETE", reason: str = "") -> None:
    cfn.add_response(
        "create_change_set",
        {"Id": CS_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ClientToken": ANY,
            "ChangeSetType": kind,
            "Parameters": [],
            "Description": ANY,
            "TemplateBody": "{}",
        },
    )
    page = {"ChangeSetId": CS_ID, "StackId": STACK_ID, "Status": status, "Changes": []}
    if reason:
        page["StatusReason"] = reason
    cfn.add_response("describe_change_set", page, {"ChangeSetName": CS_ID})


def expect_events(cfn: Any, pages: list[list[dict[str, Any]]]) -> None:
    for i, events in enumerate(pages):
        params: dict[str, Any] = {"ChangeSetName": CS_ID, "Filters": {"FailedEvents": True}}
        answer: dict[str, Any] = {"OperationEvents": events}
        if i:
            params["NextToken"] = f"t{i}"
        if i + 1 < len(pages):
            answer["NextToken"] = f"t{i + 1}"
        cfn.add_response("describe_events", answer, params)


def expect_hooks(cfn: Any, results: list[dict[str, Any]]) -> None:
    cfn.add_response(
        "list_hook_results", {"HookResults": results}, {"TargetType": "CHANGE_SET", "TargetId": CS_ID}
    )


REVIEW_STACK = {
    "StackName": STACK,
    "StackId": STACK_ID,
    "StackStatus": "REVIEW_IN_PROGRESS",
    "CreationTime": "2024-01-01T00:00:00Z",
}


def expect_clean_up(cfn: Any, *, stack_too: bool, others: list[str] | None = None) -> None:
    cfn.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    if stack_too:
        cfn.add_response("describe_stacks", {"Stacks": [REVIEW_STACK]}, {"StackName": STACK_ID})
        summaries = [
            {
                "StackId": STACK_ID,
                "StackName": STACK,
                "ChangeSetId": f"{CS_ID[: CS_ID.rindex('/')]}-{name}/1",
                "ChangeSetName": name,
                "ExecutionStatus": "AVAILABLE",
                "Status": "CREATE_COMPLETE",
            }
            for name in others or []
        ]
        cfn.add_response("list_change_sets", {"Summaries": summaries}, {"StackName": STACK_ID})
        if not others:
            cfn.add_response("delete_stack", {}, {"StackName": STACK_ID})


def test_a_clean_change_set_passes_and_is_deleted_with_the_stack_it_created() -> None:
    with stubbed_context(SMALL_TEMPLATE) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "CREATE")
        expect_events(cfn, [[]])
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=True)
        finding = one(check_online(ctx, inputs("CREATE")), Status.PASS)
    assert "deleted unexecuted" in finding.message


def test_a_validation_finding_on_the_second_page_fails_and_the_change_set_is_still_removed() -> None:
    failed = {
        "EventId": "e2",
        "LogicalResourceId": "Topic",
        "ValidationStatus": "FAILED",
        "ValidationFailureMode": "FAIL",
        "ValidationName": "PropertyValidation",
        "ValidationStatusReason": "TopicName too long",
    }
    with stubbed_context(SMALL_TEMPLATE) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "CREATE")
        expect_events(cfn, [[], [failed]])
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=True)
        failure = one(check_online(ctx, inputs("CREATE")), Status.FAIL)
    assert failure.message == "PropertyValidation on Topic: TopicName too long"


def test_a_failed_hook_fails_and_an_update_leaves_the_existing_stack_alone() -> None:
    hook = {
        "TypeName": "Org::Tags::Required",
        "InvocationPoint": "PRE_PROVISION",
        "FailureMode": "FAIL",
        "Status": "HOOK_COMPLETE_FAILED",
        "HookStatusReason": "missing tag Owner",
    }
    with stubbed_context(SMALL_TEMPLATE, stack=EXISTING) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "UPDATE")
        expect_events(cfn, [[]])
        expect_hooks(cfn, [hook])
        expect_clean_up(cfn, stack_too=False)
        failure = one(check_online(ctx, inputs("UPDATE")), Status.FAIL)
    assert "Org::Tags::Required" in failure.message and "missing tag Owner" in failure.message


def test_a_rejected_change_set_fails_with_cloudformations_reason() -> None:
    with stubbed_context(SMALL_TEMPLATE, stack=EXISTING) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(
            cfn, "UPDATE", "FAILED", "Template format error: Unresolved resource dependencies [X]"
        )
        expect_events(cfn, [[]])
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=False)
        failure = one(check_online(ctx, inputs("UPDATE")), Status.FAIL)
    assert "Unresolved resource dependencies [X]" in failure.message


def test_an_endpoint_without_describe_events_is_a_warning() -> None:
    with stubbed_context(SMALL_TEMPLATE, stack=EXISTING) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "UPDATE")
        cfn.add_client_error(
            "describe_events", "InvalidAction", "Could not find operation DescribeEvents", 400
        )
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=False)
        warning = one(check_online(ctx, inputs("UPDATE")), Status.WARN)
    assert "DescribeEvents" in warning.message and "InvalidAction" in warning.message


def test_a_botocore_without_describe_events_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(online.features, "supported", lambda f: f is not features.DESCRIBE_EVENTS)
    with stubbed_context(SMALL_TEMPLATE, stack=EXISTING) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "UPDATE")
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=False)
        warning = one(check_online(ctx, inputs("UPDATE")), Status.WARN)
    assert "does not know DescribeEvents" in warning.message


def test_a_review_stack_holding_someone_elses_change_set_awaiting_review_is_kept() -> None:
    # No stack when preflight read it; while it ran, someone's `plan` of the new stack added its change set.
    with stubbed_context(SMALL_TEMPLATE) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "CREATE")
        expect_events(cfn, [[]])
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=True, others=["tap-deploy-create-0123"])
        findings = check_online(ctx, inputs("CREATE"))
    kept = one(findings, Status.INFO)
    assert "left in REVIEW_IN_PROGRESS" in kept.message and "tap-deploy-create-0123" in kept.message
    assert "delete_stack" not in ctx.calls and "cloudformation:DeleteStack" not in ctx.calls


def test_a_review_stack_that_existed_before_preflight_is_never_deleted() -> None:
    # Someone's plan of a new stack: preflight adds its own CREATE change set to that stack and removes only it.
    pending = {**REVIEW_STACK, "Parameters": []}
    with stubbed_context(SMALL_TEMPLATE, stack=pending) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "CREATE")
        expect_events(cfn, [[]])
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=False)
        one(check_online(ctx, inputs("CREATE")), Status.PASS)
    assert "cloudformation:DeleteStack" not in ctx.calls


def test_a_change_set_that_cannot_be_deleted_is_a_warning_with_the_command_that_deletes_it() -> None:
    with stubbed_context(SMALL_TEMPLATE, stack=EXISTING) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "UPDATE")
        expect_events(cfn, [[]])
        expect_hooks(cfn, [])
        # Throttling that outlasted the retries.
        cfn.add_client_error("delete_change_set", "Throttling", "Rate exceeded", 400)
        findings = check_online(ctx, inputs("UPDATE"))
    warning = one(findings, Status.WARN)
    assert "could not delete preflight's change set" in warning.message and "Throttling" in warning.message
    assert warning.fix == f"aws cloudformation delete-change-set --change-set-name {CS_ID}"
    assert not [f for f in findings if "deleted unexecuted" in f.message]


def test_a_change_set_whose_create_answer_was_lost_is_deleted_by_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names: list[str] = []

    def lost(cfn: Any, request: Any) -> None:
        # The request went out; the connection dropped before CloudFormation's answer came back.
        names.append(request.name)
        raise ConnectionClosedError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com")

    monkeypatch.setattr(online.changeset, "create", lost)
    with stubbed_context(SMALL_TEMPLATE, stack=EXISTING) as (ctx, clients):
        clients.stub("cloudformation").add_response(
            "delete_change_set", {}, {"ChangeSetName": ANY, "StackName": STACK}
        )
        warning = one(check_online(ctx, inputs("UPDATE")), Status.WARN)
    assert "cannot check the template online" in warning.message
    assert names[0].startswith("tap-preflight-") and ctx.calls == ["cloudformation:DeleteChangeSet"]


def test_on_moto_a_plan_awaiting_review_survives_preflight_of_its_stack_and_of_another(
    moto: MotoServer,
) -> None:
    """A real round trip: someone's `plan` of a new stack, then preflight of a new stack and of that one."""
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=moto.endpoint)
    body = json.dumps(SMALL_TEMPLATE)
    cfn.create_change_set(
        StackName="pf-review", ChangeSetName="their-plan", ChangeSetType="CREATE", TemplateBody=body
    )
    review = cfn.describe_stacks(StackName="pf-review")["Stacks"][0]
    check_online(moto_context(moto, SMALL_TEMPLATE), inputs("CREATE", body, "pf-new"))
    check_online(moto_context(moto, SMALL_TEMPLATE, stack=review), inputs("CREATE", body, "pf-review"))
    live = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert [(s["StackName"], s["StackId"]) for s in live] == [("pf-review", review["StackId"])]
    held = cfn.list_change_sets(StackName=review["StackId"])["Summaries"]
    assert [c["ChangeSetName"] for c in held if c["StackId"] == review["StackId"]] == ["their-plan"]

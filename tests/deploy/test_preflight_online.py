"""Check 8: CloudFormation's validation through a throw-away change set, with Stubber (moto has no DescribeEvents,
hook results or validation findings). Every scenario ends with the change set deleted, and the stack too when the
CREATE change set made it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from deployer import features
from deployer.preflight import online
from deployer.preflight.model import Status
from deployer.preflight.online import ChangeSetInputs, check_online
from deployer.waiting import Pacer
from tests.deploy._preflight import one, stubbed_context
from tests.deploy.conftest import CS_ID, SMALL_TEMPLATE, STACK, STACK_ID, FakeClock

EXISTING = {"StackName": STACK, "StackId": STACK_ID, "StackStatus": "UPDATE_COMPLETE", "Parameters": []}


def inputs() -> ChangeSetInputs:
    clock = FakeClock()
    return ChangeSetInputs(
        stack_name=STACK,
        parameters=[],
        capabilities=[],
        tags={},
        template_body="{}",
        template_url=lambda: None,
        role_arn=None,
        notification_arns=[],
        rollback_alarms=[],
        pacer=Pacer(clock.sleep, clock.time, 60, 0, 0),
    )


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


def expect_clean_up(cfn: Any, *, stack_too: bool) -> None:
    cfn.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    if stack_too:
        stack = {
            "StackName": STACK,
            "StackId": STACK_ID,
            "StackStatus": "REVIEW_IN_PROGRESS",
            "CreationTime": "2024-01-01T00:00:00Z",
        }
        cfn.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK_ID})
        cfn.add_response("delete_stack", {}, {"StackName": STACK_ID})


def test_a_clean_change_set_passes_and_is_deleted_with_the_stack_it_created() -> None:
    with stubbed_context(SMALL_TEMPLATE) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "CREATE")
        expect_events(cfn, [[]])
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=True)
        finding = one(check_online(ctx, inputs()), Status.PASS)
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
        failure = one(check_online(ctx, inputs()), Status.FAIL)
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
        failure = one(check_online(ctx, inputs()), Status.FAIL)
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
        failure = one(check_online(ctx, inputs()), Status.FAIL)
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
        warning = one(check_online(ctx, inputs()), Status.WARN)
    assert "DescribeEvents" in warning.message and "InvalidAction" in warning.message


def test_a_botocore_without_describe_events_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(online.features, "supported", lambda f: f is not features.DESCRIBE_EVENTS)
    with stubbed_context(SMALL_TEMPLATE, stack=EXISTING) as (ctx, clients):
        cfn = clients.stub("cloudformation")
        expect_change_set(cfn, "UPDATE")
        expect_hooks(cfn, [])
        expect_clean_up(cfn, stack_too=False)
        warning = one(check_online(ctx, inputs()), Status.WARN)
    assert "does not know DescribeEvents" in warning.message

"""Fixtures for the deploy tests: a Stubber-backed harness for scenarios, and moto's server for round trips."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deployer import cli
from deployer.changeset import execute_token
from deployer.clients import ClientSettings, botocore_config
from emulator.server import DUMMY_AWS_ENV, UNSET_AWS_ENV, MotoServer, start_moto_server

STACK = "app"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/0f1e2d3c-0000-1111-2222-333344445555"
CS_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/tap-deploy-update-x/9a8b7c6d"
MUTATING = frozenset(
    {
        "CreateChangeSet",
        "ExecuteChangeSet",
        "DeleteChangeSet",
        "DeleteStack",
        "ContinueUpdateRollback",
        "CancelUpdateStack",
        "RollbackStack",
        "SetStackPolicy",
        "UpdateTerminationProtection",
        "CreateStack",
        "UpdateStack",
        "PutObject",
    }
)
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

SMALL_TEMPLATE = {
    "Parameters": {
        "EnvironmentSuffix": {
            "Type": "String",
            "Default": "dev",
            "AllowedPattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
            "MinLength": 2,
            "MaxLength": 20,
            "ConstraintDescription": "lower-case letters, digits and single hyphens",
        },
        "InstanceType": {"Type": "String", "Default": "t3.micro", "AllowedValues": ["t3.micro", "t3.small"]},
        "MinSize": {"Type": "Number", "Default": "2", "MinValue": 1, "MaxValue": 5},
    },
    "Resources": {
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": {"Fn::Sub": "alerts-${EnvironmentSuffix}"}},
        },
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": {"Fn::Sub": "jobs-${EnvironmentSuffix}"}},
        },
    },
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
}


class FakeClock:
    """Sleeping advances time instantly: waits and timeouts are exercised without real seconds passing."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


def stubbed_client(service: str) -> Any:
    # The same retry config as the product, through the same builder.
    return boto3.client(
        service,  # type: ignore[call-overload]
        config=botocore_config(ClientSettings()),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


class Harness:
    """Drives the real CLI entry point against Stubber-backed clients and records every API call."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.cfn = stubbed_client("cloudformation")
        self.s3_client = stubbed_client("s3")
        self.stub = Stubber(self.cfn)
        self.s3_stub = Stubber(self.s3_client)
        self.calls: list[str] = []
        for client in (self.cfn, self.s3_client):
            client.meta.events.register("before-parameter-build.*.*", self._record)
        self.clock = FakeClock()
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.confirm_answer = ""
        self.prompts: list[str] = []
        self.stdin_is_tty = False
        self.stdout_is_tty = False
        self.settings: ClientSettings | None = None
        self.event_count = 0

    def recorded_policies(self) -> list[dict[str, Any]]:
        """Every stack policy the run sets from now on, as sent (SetStackPolicy's body, parsed)."""
        seen: list[dict[str, Any]] = []
        self.cfn.meta.events.register(
            "provide-client-params.cloudformation.SetStackPolicy",
            lambda params, **_: seen.append(json.loads(params["StackPolicyBody"])),
        )
        return seen

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    # Clients protocol of deployer.cli
    def cloudformation(self) -> Any:
        return self.cfn

    def s3(self) -> Any:
        return self.s3_client

    def _clients(self, settings: ClientSettings) -> Harness:
        self.settings = settings
        return self

    def _confirm(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.confirm_answer

    def run(self, *argv: str) -> int:
        env = cli.Environment(
            clients=self._clients,
            sleep=self.clock.sleep,
            clock=self.clock.time,
            stdout=self.stdout,
            stderr=self.stderr,
            stdout_is_tty=self.stdout_is_tty,
            stdin_is_tty=self.stdin_is_tty,
            confirm=self._confirm,
        )
        with self.stub, self.s3_stub:
            code = cli.main(list(argv), env)
            self.stub.assert_no_pending_responses()
            self.s3_stub.assert_no_pending_responses()
        return code

    @property
    def output(self) -> str:
        return self.stdout.getvalue()

    @property
    def errors(self) -> str:
        return self.stderr.getvalue()

    @property
    def mutating_calls(self) -> list[str]:
        return [c for c in self.calls if c in MUTATING]

    def template(self, doc: dict[str, Any] | None = None, name: str = "template.json") -> str:
        path = self.tmp / name
        path.write_text(json.dumps(doc or SMALL_TEMPLATE, indent=1), encoding="utf-8")
        return str(path)

    def deploy_args(self, *extra: str, command: str = "deploy") -> list[str]:
        return [command, "--stack-name", STACK, "--template-file", self.template(), *extra]

    # ---- canned responses ------------------------------------------------------------------------------------

    def stack_response(self, status: str, **extra: Any) -> dict[str, Any]:
        stack = {"StackName": STACK, "StackId": STACK_ID, "StackStatus": status, "CreationTime": T0}
        stack.update(extra)
        return {"Stacks": [stack]}

    def expect_stack(self, status: str | None, name: str = STACK, **extra: Any) -> None:
        if status is None:
            self.stub.add_client_error(
                "describe_stacks",
                "ValidationError",
                f"Stack with id {name} does not exist",
                400,
                expected_params={"StackName": name},
            )
        else:
            self.stub.add_response(
                "describe_stacks", self.stack_response(status, **extra), {"StackName": name}
            )

    def event(
        self, logical_id: str, status: str, reason: str = "", rtype: str = "AWS::SNS::Topic"
    ) -> dict[str, Any]:
        self.event_count += 1
        is_stack = logical_id == STACK
        event: dict[str, Any] = {
            "StackId": STACK_ID,
            "EventId": f"event-{self.event_count}",
            "StackName": STACK,
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": STACK_ID if is_stack else f"phys-{logical_id}",
            "ResourceType": "AWS::CloudFormation::Stack" if is_stack else rtype,
            "Timestamp": T0 + timedelta(seconds=self.event_count),
            "ResourceStatus": status,
        }
        if reason:
            event["ResourceStatusReason"] = reason
        return event

    def expect_events(
        self, newest_first: list[dict[str, Any]], next_token: str | None = None, token: str | None = None
    ) -> None:
        response: dict[str, Any] = {"StackEvents": newest_first}
        params: dict[str, Any] = {"StackName": STACK_ID}
        if next_token:
            response["NextToken"] = next_token
        if token:
            params["NextToken"] = token
        self.stub.add_response("describe_stack_events", response, params)

    def expect_no_old_change_sets(self) -> None:
        self.stub.add_response("list_change_sets", {"Summaries": []}, {"StackName": STACK})

    def expect_create_change_set(self, change_set_type: str, **params: Any) -> None:
        expected = {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ClientToken": ANY,
            "ChangeSetType": change_set_type,
            "Parameters": ANY,
            "Description": ANY,
            "TemplateBody": ANY,
        }
        expected.update(params)
        self.stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID}, expected)

    def change_set_page(
        self,
        status: str,
        reason: str = "",
        changes: list[dict[str, Any]] | None = None,
        execution: str = "AVAILABLE",
        next_token: str | None = None,
    ) -> dict[str, Any]:
        page: dict[str, Any] = {
            "ChangeSetId": CS_ID,
            "ChangeSetName": "tap-deploy-update-x",
            "StackId": STACK_ID,
            "StackName": STACK,
            "Status": status,
            "ExecutionStatus": execution,
            "Changes": [{"Type": "Resource", "ResourceChange": c} for c in (changes or [])],
        }
        if reason:
            page["StatusReason"] = reason
        if next_token:
            page["NextToken"] = next_token
        return page

    def expect_change_set_status(self, status: str, reason: str = "", execution: str = "AVAILABLE") -> None:
        self.stub.add_response(
            "describe_change_set",
            self.change_set_page(status, reason, execution=execution),
            {"ChangeSetName": CS_ID},
        )

    def expect_change_set_pages(
        self,
        pages: list[list[dict[str, Any]]],
        name: str = CS_ID,
        stack_name: str | None = None,
        execution: str = "AVAILABLE",
    ) -> None:
        for i, changes in enumerate(pages):
            params: dict[str, Any] = {"ChangeSetName": name, "IncludePropertyValues": True}
            if stack_name:
                params["StackName"] = stack_name
            if i:
                params["NextToken"] = f"page-{i}"
            token = f"page-{i + 1}" if i + 1 < len(pages) else None
            page = self.change_set_page(
                "CREATE_COMPLETE", changes=changes, next_token=token, execution=execution
            )
            self.stub.add_response("describe_change_set", page, params)

    def expect_change_set_template(self, doc: dict[str, Any] | None = None) -> None:
        """GetTemplate of the change set, which execute reads for the data-loss guard."""
        self.stub.add_response(
            "get_template",
            {"TemplateBody": json.dumps(doc or SMALL_TEMPLATE)},
            {"StackName": STACK_ID, "ChangeSetName": CS_ID},
        )

    def expect_deployed_template(self, doc: dict[str, Any]) -> None:
        """GetTemplate of the stack: the deployed template the offline prediction compares against."""
        self.stub.add_response("get_template", {"TemplateBody": json.dumps(doc)}, {"StackName": STACK_ID})

    def expect_policy_read(self, policy: dict[str, Any] | None = None) -> None:
        """GetStackPolicy: the stack's policy now (none by default)."""
        response = {"StackPolicyBody": json.dumps(policy)} if policy else {}
        self.stub.add_response("get_stack_policy", response, {"StackName": STACK_ID})

    def expect_execute(self, disable_rollback: bool = False) -> None:
        self.stub.add_response(
            "execute_change_set",
            {},
            {
                "ChangeSetName": CS_ID,
                "ClientRequestToken": execute_token(CS_ID),
                "DisableRollback": disable_rollback,
            },
        )

    def expect_successful_execution(
        self,
        final: str = "UPDATE_COMPLETE",
        start: str = "UPDATE_IN_PROGRESS",
        outputs: list[dict[str, str]] | None = None,
        disable_rollback: bool = False,
        policy_read: bool | None = None,
    ) -> None:
        """Prime, execute, one tick of progress, then the terminal event and status.

        An update with no policy of its own ends by reading the stack's policy (an earlier run may have left it
        open): `policy_read` defaults to that for an update; pass False when the run sets a policy.
        """
        old = self.event(STACK, "CREATE_COMPLETE")
        self.expect_events([old])
        self.expect_execute(disable_rollback)
        begun = self.event(STACK, start, "User Initiated")
        self.expect_events([begun, old])  # a stack-level start: DescribeStacks waits for the end
        resource = self.event("Topic", "CREATE_COMPLETE" if final.startswith("CREATE") else "UPDATE_COMPLETE")
        done = self.event(STACK, final)
        self.expect_events([done, resource, begun, old])
        self.expect_stack(final, name=STACK_ID, Outputs=outputs or [])
        if policy_read if policy_read is not None else start == "UPDATE_IN_PROGRESS":
            self.expect_policy_read()


def change(
    action: str, logical_id: str, replacement: str | None = None, scope: list[str] | None = None
) -> dict:
    item: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::SNS::Topic",
    }
    if replacement:
        item["Replacement"] = replacement
    if scope:
        item["Scope"] = scope
    return item


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return Harness(tmp_path)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = start_moto_server()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A moto server with an empty account for this test, and dummy credentials in the environment."""
    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    for key in UNSET_AWS_ENV:
        monkeypatch.delenv(key, raising=False)
    moto_server.reset()
    return moto_server

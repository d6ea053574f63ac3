"""The stack policy over a stack's life: what an opening carries, what execute leaves behind, and a run killed with
the policy open (moto's server on 127.0.0.1 where it keeps the state; the opening's text checked by evaluation)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from deployer import cli
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from deployer.stack_policy import MARKER, default_policy, opened_for, original_of
from emulator.server import MotoServer
from tests.deploy.test_stack_policy import allows

FAST = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "30s"]
TOPIC = {"Type": "AWS::SNS::Topic"}
LOGS = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}
RETAINED_BUCKET = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
WITH_LOGS: dict[str, Any] = {"Resources": {"Topic": TOPIC, "AppLogGroup": LOGS}}
WITH_BUCKET: dict[str, Any] = {"Resources": {"Topic": TOPIC, "KeptBucket": RETAINED_BUCKET}}
DENY_ONLY = {
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "Update:*",
            "Resource": ["LogicalResourceId/Database", "LogicalResourceId/Logs"],
        }
    ]
}


# ---- what an opening is --------------------------------------------------------------------------------------


def test_an_opening_leaves_no_deny_statement_with_an_empty_resource_list() -> None:
    policy = default_policy({"Resources": {"OnlyBucket": {"Type": "AWS::S3::Bucket"}}})
    assert policy is not None
    opened = opened_for(policy, ["OnlyBucket"])
    for statement in opened["Statement"]:
        if statement["Effect"] == "Deny":
            assert statement.get("Resource"), statement  # an empty list is rejected by AWS, or denies nothing
    assert allows(opened, "Update:Replace", "OnlyBucket")


@pytest.mark.parametrize("policy", [DENY_ONLY, default_policy(WITH_LOGS)], ids=["deny-only", "default"])
def test_an_opening_explicitly_allows_the_opened_resources_even_in_a_deny_only_policy(
    policy: dict[str, Any],
) -> None:
    opened_id = "Database" if policy is DENY_ONLY else "AppLogGroup"
    opened = opened_for(policy, [opened_id])
    explicit = [
        s
        for s in opened["Statement"]
        if s["Effect"] == "Allow" and f"LogicalResourceId/{opened_id}" in s.get("Resource", [])
    ]
    assert explicit, "without an explicit Allow, a stack policy denies by default"
    for action in ("Update:Modify", "Update:Replace", "Update:Delete"):
        assert allows(opened, action, opened_id), action
    if policy is DENY_ONLY:
        assert not allows(opened, "Update:Modify", "Logs"), "only the named resource is opened"


def test_an_opening_carries_the_policy_it_replaced_and_its_marker_matches_no_resource() -> None:
    policy = default_policy(WITH_LOGS)
    assert policy is not None and original_of(policy) is None
    opened = opened_for(policy, ["AppLogGroup"])
    assert original_of(opened) == policy
    assert original_of(json.loads(json.dumps(opened))) == policy, "survives the round trip through AWS"
    marker = [s for s in opened["Statement"] if any(str(r).startswith(MARKER) for r in s["Resource"])]
    assert len(marker) == 1 and "*" not in json.dumps(marker[0]["Resource"])
    # The marker is a Deny: evaluated, the opening allows exactly what the policy allows plus the opened resource.
    for logical_id in ("AppLogGroup", "Topic", "SomethingElse", "TapDeployTemporaryOpening"):
        assert allows(opened, "Update:Replace", logical_id), logical_id


def test_opening_an_opening_left_open_starts_from_the_policy_it_carries() -> None:
    policy = DENY_ONLY
    twice = opened_for(opened_for(policy, ["Database"]), ["Logs"])
    assert original_of(twice) == policy
    assert allows(twice, "Update:Replace", "Logs")
    assert not allows(twice, "Update:Replace", "Database"), "the earlier opening does not carry over"


# ---- through the CLI on moto --------------------------------------------------------------------------------


class Killed(BaseException):
    """SIGKILL: the process stops between two calls, and none of its own handlers gets another call through."""


def _cli(moto: MotoServer, *args: str, kill_after: str | None = None) -> tuple[int, str]:
    dead = False

    class Factory(ClientFactory):
        def cloudformation(self) -> Any:
            client = super().cloudformation()

            def before(**_: Any) -> None:
                if dead:
                    raise Killed

            def after(model: Any, **_: Any) -> None:
                nonlocal dead
                if model.name == kill_after:
                    dead = True
                    raise Killed

            client.meta.events.register("before-call.*.*", before)
            client.meta.events.register("after-call.*.*", after)
            return client

    out = io.StringIO()
    env = cli.Environment(
        clients=Factory, sleep=lambda _: None, stdout=out, stderr=out, stdout_is_tty=False, stdin_is_tty=False
    )
    code = cli.main([*args, "--endpoint-url", moto.endpoint, *FAST], env)
    return code, out.getvalue()


def _killed(moto: MotoServer, *args: str, after: str) -> None:
    with pytest.raises(Killed):
        _cli(moto, *args, kill_after=after)


def _write(tmp_path: Path, doc: dict[str, Any], name: str) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _plan(moto: MotoServer, template: str) -> str:
    code, out = _cli(moto, "plan", "--stack-name", "life", "--template-file", template, "--skip-preflight")
    # A plan with a danger exits 10; either way the change set is kept, with the command that executes it.
    assert code in {ExitCode.CHANGES_PRESENT, ExitCode.DATA_LOSS_REFUSED}, out
    found = re.search(r"--change-set-name (\S+)", out)
    assert found is not None, out
    return found.group(1)


def _policy(moto: MotoServer) -> dict[str, Any] | None:
    body = (
        ClientFactory(ClientSettings(endpoint_url=moto.endpoint))
        .cloudformation()
        .get_stack_policy(StackName="life")
    )
    return json.loads(body["StackPolicyBody"]) if body.get("StackPolicyBody") else None


def _deploy(moto: MotoServer, template: str) -> None:
    code, out = _cli(
        moto, "deploy", "--stack-name", "life", "--template-file", template, "--skip-preflight", "--yes"
    )
    assert code == ExitCode.SUCCESS, out


def _planned_update_to_the_bucket(moto: MotoServer, tmp_path: Path) -> tuple[str, ...]:
    """The stack deployed with its log group (and that template's policy), then planned to the bucket template:
    the execute command of that plan, which removes the log group."""
    _deploy(moto, _write(tmp_path, WITH_LOGS, "logs.json"))
    assert _policy(moto) == default_policy(WITH_LOGS)
    change_set = _plan(moto, _write(tmp_path, WITH_BUCKET, "bucket.json"))
    return (
        "execute",
        "--stack-name",
        "life",
        "--change-set-name",
        change_set,
        "--allow-removal",
        "AppLogGroup",
    )


def test_execute_of_an_update_ends_with_the_default_policy_of_the_template_it_executed(
    moto: MotoServer, tmp_path: Path
) -> None:
    args = _planned_update_to_the_bucket(moto, tmp_path)
    code, out = _cli(moto, *args)
    assert code == ExitCode.SUCCESS, out
    policy = _policy(moto)
    assert policy == default_policy(WITH_BUCKET)
    assert not allows(policy, "Update:Replace", "KeptBucket"), "the bucket the change set added is protected"
    assert "AppLogGroup" not in json.dumps(policy), "the log group it removed is no longer named"


def test_an_interrupted_create_resumed_by_execute_ends_with_the_default_policy(
    moto: MotoServer, tmp_path: Path
) -> None:
    change_set = _plan(moto, _write(tmp_path, WITH_LOGS, "logs.json"))
    args = ("execute", "--stack-name", "life", "--change-set-name", change_set)
    _killed(moto, *args, after="ExecuteChangeSet")
    assert _policy(moto) is None
    code, out = _cli(moto, *args)
    assert code == ExitCode.SUCCESS, out
    assert "already executed" in out
    assert _policy(moto) == default_policy(WITH_LOGS)


def test_an_opening_of_a_killed_execute_is_closed_by_running_it_again(
    moto: MotoServer, tmp_path: Path
) -> None:
    args = _planned_update_to_the_bucket(moto, tmp_path)
    _killed(moto, *args, after="ExecuteChangeSet")
    left_open = _policy(moto)
    assert left_open is not None and original_of(left_open) == default_policy(WITH_BUCKET)
    assert allows(left_open, "Update:Delete", "AppLogGroup")
    code, out = _cli(moto, *args)
    assert code == ExitCode.SUCCESS, out
    assert _policy(moto) == default_policy(WITH_BUCKET)


def test_an_opening_of_a_killed_deploy_is_closed_by_the_next_deploy_of_a_template_without_a_policy(
    moto: MotoServer, tmp_path: Path
) -> None:
    _deploy(moto, _write(tmp_path, WITH_LOGS, "logs.json"))
    topic_only = _write(tmp_path, {"Resources": {"Topic": TOPIC}}, "topic.json")
    args = ("deploy", "--stack-name", "life", "--template-file", topic_only, "--skip-preflight", "--yes")
    _killed(moto, *args, "--allow-removal", "AppLogGroup", after="ExecuteChangeSet")
    left_open = _policy(moto)
    assert left_open is not None and original_of(left_open) == default_policy(WITH_LOGS)
    code, out = _cli(moto, *args)  # no changes left to make, and no policy of its own
    assert code == ExitCode.SUCCESS, out
    assert _policy(moto) == default_policy(WITH_LOGS)
    assert "Stack policy opened by an earlier run closed" in out

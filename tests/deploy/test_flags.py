"""Each command-line flag reaches the API call it is for (botocore Stubber expected_params), or the client factory."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

from deployer import cli
from deployer.changeset import execute_token, is_ours
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from tests.deploy.conftest import CS_ID, STACK, STACK_ID, Harness, change
from tests.deploy.test_stack_state_scenarios import KEEP_ALL, PREVIOUS, queue_create, queue_update

ROLE = "arn:aws:iam::123456789012:role/deployer"
POLICY = {"Statement": [{"Effect": "Deny", "Action": "Update:Replace", "Principal": "*", "Resource": "*"}]}
NO_UPDATES = "No updates are to be performed."


def policy_file(h: Harness) -> str:
    path = h.tmp / "policy.json"
    path.write_text(json.dumps(POLICY))
    return str(path)


def test_connection_flags_reach_the_one_client_factory(harness: Harness) -> None:
    harness.expect_stack(None)
    harness.run(
        "status",
        "--stack-name",
        STACK,
        "--region",
        "eu-west-1",
        "--profile",
        "ops",
        "--endpoint-url",
        "http://127.0.0.1:4566",
        "--retry-mode",
        "adaptive",
        "--max-attempts",
        "3",
    )
    assert harness.settings == ClientSettings("eu-west-1", "ops", "http://127.0.0.1:4566", "adaptive", 3)


def test_client_factory_builds_every_client_from_the_profile_region_endpoint_and_retry_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile ops]\nregion = ap-south-1\naws_access_key_id = a\naws_secret_access_key = b\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    settings = ClientSettings("eu-west-1", "ops", "http://127.0.0.1:4566", "adaptive", 3)
    factory = ClientFactory(settings)
    for client in (factory.cloudformation(), factory.s3()):
        assert client.meta.region_name == "eu-west-1"  # --region wins over the profile's region
        assert client.meta.endpoint_url == "http://127.0.0.1:4566"
        assert client.meta.config.retries == {
            "mode": "adaptive",
            "total_max_attempts": 3,
        }  # first try included
        assert client._request_signer._credentials.access_key == "a"  # the profile's credentials


def test_factories_share_the_parsed_service_models_but_not_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile ops]\naws_access_key_id = a\naws_secret_access_key = b\n"
        "[profile audit]\naws_access_key_id = c\naws_secret_access_key = d\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    ops = ClientFactory(ClientSettings("eu-west-1", "ops"))
    loader = ops._session._loader
    paths = list(loader.search_paths)
    audit = ClientFactory(ClientSettings("us-east-1", "audit"))
    # One loader per process: a command's factory does not parse the service models again.
    assert audit._session._loader is loader
    assert loader.search_paths == paths  # boto3 adds its data path per session; it is kept once
    assert ops.cloudformation()._request_signer._credentials.access_key == "a"
    assert audit.cloudformation()._request_signer._credentials.access_key == "c"
    assert audit.cloudformation().meta.region_name == "us-east-1"


def test_unknown_profile_exits_2_with_one_line_and_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    stderr = io.StringIO()
    env = cli.Environment(stdout=io.StringIO(), stderr=stderr, stdout_is_tty=False, stdin_is_tty=False)
    assert cli.main(["status", "--stack-name", STACK, "--profile", "nope"], env) == ExitCode.BAD_INPUT
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and "list-profiles" in lines[0]


def test_role_arn_is_used_to_delete_a_failed_stack_and_to_create_it_again(harness: Harness) -> None:
    harness.expect_stack("ROLLBACK_COMPLETE")
    old = harness.event(STACK, "ROLLBACK_COMPLETE")
    harness.expect_events([old])
    harness.stub.add_response(
        "delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY, "RoleARN": ROLE}
    )
    gone = harness.event(STACK, "DELETE_COMPLETE")
    harness.expect_events([gone, old])
    harness.expect_stack("DELETE_COMPLETE", name=STACK_ID)
    harness.expect_stack(None)
    harness.expect_create_change_set("CREATE", Parameters=[], RoleARN=ROLE)
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Add", "Topic")]])
    harness.expect_successful_execution(final="CREATE_COMPLETE", start="CREATE_IN_PROGRESS")
    code = harness.run(*harness.deploy_args("--replace-failed-stack", "--role-arn", ROLE))
    assert code == ExitCode.SUCCESS


def test_role_arn_is_used_to_continue_a_failed_rollback(harness: Harness) -> None:
    harness.expect_stack("UPDATE_ROLLBACK_FAILED", Parameters=PREVIOUS)
    old = harness.event(STACK, "UPDATE_ROLLBACK_FAILED")
    harness.expect_events([old])
    harness.stub.add_response(
        "continue_update_rollback", {}, {"StackName": STACK_ID, "ClientRequestToken": ANY, "RoleARN": ROLE}
    )
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, old])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error("create_change_set", "ValidationError", NO_UPDATES, 400)
    harness.expect_policy_read()
    code = harness.run(*harness.deploy_args("--continue-update-rollback", "--role-arn", ROLE))
    assert code == ExitCode.SUCCESS


def test_stack_policy_of_a_new_stack_is_set_once_the_stack_exists(harness: Harness) -> None:
    harness.expect_stack(None)
    queue_create(harness)
    harness.stub.add_response(
        "set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": json.dumps(POLICY)}
    )
    assert harness.run(*harness.deploy_args("--stack-policy-file", policy_file(harness))) == 0
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet", "SetStackPolicy"]


def test_stack_policy_from_the_template_configuration_file_is_applied(harness: Harness) -> None:
    params = harness.tmp / "config.json"
    params.write_text(json.dumps({"Parameters": {"MinSize": "3"}, "StackPolicy": POLICY}))
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error("create_change_set", "ValidationError", NO_UPDATES, 400)
    harness.stub.add_response(
        "set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": json.dumps(POLICY)}
    )
    assert harness.run(*harness.deploy_args("--parameters-file", str(params))) == ExitCode.SUCCESS


def test_stack_policy_and_termination_protection_apply_even_when_the_template_did_not_change(
    harness: Harness,
) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error("create_change_set", "ValidationError", NO_UPDATES, 400)
    harness.stub.add_response(
        "set_stack_policy", {}, {"StackName": STACK_ID, "StackPolicyBody": json.dumps(POLICY)}
    )
    harness.stub.add_response(
        "update_termination_protection",
        {"StackId": STACK_ID},
        {"StackName": STACK_ID, "EnableTerminationProtection": True},
    )
    args = harness.deploy_args("--stack-policy-file", policy_file(harness), "--termination-protection")
    assert harness.run(*args) == ExitCode.SUCCESS
    assert "Termination protection turned on" in harness.output


def test_termination_protection_already_on_is_not_requested_again(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS, EnableTerminationProtection=True)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error("create_change_set", "ValidationError", NO_UPDATES, 400)
    harness.expect_policy_read()
    assert harness.run(*harness.deploy_args("--termination-protection")) == ExitCode.SUCCESS
    assert harness.mutating_calls == ["CreateChangeSet"]


def test_review_mode_sets_nothing_on_the_stack(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error("create_change_set", "ValidationError", NO_UPDATES, 400)
    args = harness.deploy_args(
        "--stack-policy-file", policy_file(harness), "--termination-protection", command="plan"
    )
    assert harness.run(*args) == ExitCode.SUCCESS
    assert harness.mutating_calls == ["CreateChangeSet"]


def test_update_without_tags_leaves_the_stack_tags_alone(harness: Harness) -> None:
    # An empty Tags list would remove every stack tag (and propagate that to the resources): leave it out.
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS, Tags=[{"Key": "Team", "Value": "web"}])
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error(
        "create_change_set",
        "ValidationError",
        NO_UPDATES,
        400,
        expected_params={
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ClientToken": ANY,
            "ChangeSetType": "UPDATE",
            "Parameters": KEEP_ALL,
            "Description": ANY,
            "TemplateBody": ANY,
        },
    )
    harness.expect_policy_read()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS


def test_change_set_and_execution_carry_client_tokens(harness: Harness) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def capture(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen[model.name] = dict(params)

    harness.cfn.meta.events.register("before-parameter-build.cloudformation.*", capture)
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    queue_update(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    create = seen["CreateChangeSet"]
    assert create["ClientToken"] == create["ChangeSetName"] and is_ours(create["ChangeSetName"])
    assert seen["ExecuteChangeSet"]["ClientRequestToken"] == execute_token(CS_ID)


def test_execute_tokens_differ_for_change_sets_that_reuse_a_name() -> None:
    first = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/pipeline/1b2c3d4e-0000-1111-2222-333344445555"
    second = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/pipeline/9f8e7d6c-0000-1111-2222-333344445555"
    assert execute_token(first) != execute_token(second)
    assert execute_token(first) == execute_token(first)  # a retry of the same execution is recognised
    assert all(re.fullmatch(r"[a-zA-Z0-9][-a-zA-Z0-9]{0,127}", execute_token(t)) for t in (first, second))


# ---- --yes: asking before executing on a terminal ---------------------------------------------------------------


def queue_reviewable_update(h: Harness) -> None:
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE")
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "True", ["Properties"])]])


def test_on_a_terminal_deploy_asks_and_a_no_keeps_the_change_set_unexecuted(harness: Harness) -> None:
    harness.stdin_is_tty = True
    harness.confirm_answer = "n"
    queue_reviewable_update(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.CHANGES_PRESENT
    assert len(harness.prompts) == 1 and "Execute change set" in harness.prompts[0]
    assert harness.mutating_calls == ["CreateChangeSet"]
    assert "deploy.py execute --stack-name app --change-set-name tap-deploy-update-x" in harness.output


@pytest.mark.parametrize("answer", ["y", "Y", "yes", "YES", " Yes "])
def test_on_a_terminal_a_yes_answer_executes(harness: Harness, answer: str) -> None:
    harness.stdin_is_tty = True
    harness.confirm_answer = answer
    queue_reviewable_update(harness)
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert len(harness.prompts) == 1


def test_yes_flag_executes_on_a_terminal_without_asking(harness: Harness) -> None:
    harness.stdin_is_tty = True
    queue_reviewable_update(harness)
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args("--yes")) == ExitCode.SUCCESS
    assert harness.prompts == []


def test_off_a_terminal_nothing_is_asked(harness: Harness) -> None:
    queue_reviewable_update(harness)
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert harness.prompts == []


# ---- what the user sees ---------------------------------------------------------------------------------------


def test_a_terminal_gets_the_live_view_and_ci_gets_plain_lines(harness: Harness) -> None:
    harness.stdout_is_tty = True
    queue_reviewable_update(harness)
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args("--yes")) == ExitCode.SUCCESS
    assert "\x1b[" in harness.output  # redrawn in place
    assert not re.search(r"^2024-05-01T12:00:\d\dZ", harness.output, re.MULTILINE)  # no per-event lines


def test_machine_readable_results_go_only_to_the_files_named(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    queue_update(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert "{" not in harness.output  # no JSON on stdout unless a file was asked for
    assert sorted(p.name for p in harness.tmp.iterdir()) == ["template.json"]


def test_no_changes_on_a_review_in_progress_stack_sets_nothing_and_prints_no_outputs(
    harness: Harness,
) -> None:
    # The stack was never created: there is nothing to protect, no policy target, no outputs to report.
    harness.expect_stack("REVIEW_IN_PROGRESS")
    harness.expect_no_old_change_sets()
    harness.stub.add_client_error(
        "create_change_set", "ValidationError", "No updates are to be performed.", 400
    )
    path = harness.tmp / "outputs.json"
    args = harness.deploy_args(
        "--stack-policy-file", policy_file(harness), "--termination-protection", "--outputs-file", str(path)
    )
    assert harness.run(*args) == ExitCode.SUCCESS
    assert harness.mutating_calls == ["CreateChangeSet"]
    assert "Outputs:" not in harness.output and not path.exists()

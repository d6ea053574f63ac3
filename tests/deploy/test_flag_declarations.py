"""A flag is declared once: preflight takes deploy's declaration, execute and status take deploy's declaration of the
flags they share, the manifest decides about every deploy flag, and the change set preflight validates is built by
the same function as deploy's."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from deployer import changeset, deploy_flags
from deployer.arguments import build_parser
from deployer.deploy_flags import deploy_options, execute_options
from deployer.errors import BadInput
from deployer.fleet.manifest import STACK_KEYS
from deployer.fleet.manifest_flags import COMMAND_FLAGS, FLAG_KEYS, NOT_IN_MANIFEST
from deployer.options import ExecuteOptions
from deployer.preflight.command import _inputs
from deployer.security_changes import Approval
from tests.deploy.conftest import SMALL_TEMPLATE

pytestmark = pytest.mark.deploy
HELP = {"-h", "--help"}
# Flags about executing a change set: plan (review) has none of them, so neither has preflight.
EXECUTE_ONLY = {"--yes", "--no-execute-changeset", "--import-existing-resources", "--timeline-file"}


def subparser(name: str, parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    sub: Any = next(a for a in (parser or build_parser())._actions if a.dest == "command")
    return sub.choices[name]  # type: ignore[no-any-return]


def options(name: str, parser: argparse.ArgumentParser | None = None) -> set[str]:
    return {o for a in subparser(name, parser)._actions for o in a.option_strings} - HELP


def template(tmp_path: Path) -> str:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(SMALL_TEMPLATE), encoding="utf-8")
    return str(path)


def test_preflight_accepts_every_deploy_flag_but_those_about_executing() -> None:
    assert options("deploy") - options("preflight") == EXECUTE_ONLY
    assert options("preflight") - options("deploy") == {"--format"}
    assert options("plan") <= options("preflight")


def test_a_flag_added_to_deploys_declaration_is_preflights_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    declare = deploy_flags.add_deploy_arguments

    def with_a_new_flag(p: argparse.ArgumentParser, *, review: bool) -> None:
        declare(p, review=review)
        p.add_argument("--brand-new", default="unset")

    monkeypatch.setattr(deploy_flags, "add_deploy_arguments", with_a_new_flag)
    given = ["--stack-name", "pf", "--template-file", template(tmp_path)]
    assert build_parser().parse_args(["preflight", *given, "--brand-new", "x"]).brand_new == "x"
    assert build_parser().parse_args(["preflight", *given]).brand_new == "unset"


def test_preflight_arguments_read_like_plans(tmp_path: Path) -> None:
    given = ["--stack-name", "pf", "--template-file", template(tmp_path), "--on-failure", "DELETE"]
    opts = deploy_options(build_parser().parse_args(["preflight", *given]))
    assert opts == deploy_options(build_parser().parse_args(["plan", *given]))
    assert opts.on_failure == "DELETE" and not opts.execute


def test_preflights_change_set_is_deploys_with_its_own_name(tmp_path: Path) -> None:
    alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"
    given = ["--on-failure", "DELETE", "--tags", "team=web", "--rollback-alarm", alarm]
    args = build_parser().parse_args(
        ["preflight", "--stack-name", "pf", "--template-file", template(tmp_path), *given]
    )
    opts = deploy_options(args)
    inputs = _inputs(SimpleNamespace(pacer=None, s3=None), opts, None)  # type: ignore[arg-type]
    deploys = changeset.request_for(opts, "CREATE", inputs.request.parameters, name=inputs.request.name)
    sent = inputs.request.api_kwargs()
    assert sent == deploys.api_kwargs()
    assert sent["OnStackFailure"] == "DELETE" and sent["Tags"] == [{"Key": "team", "Value": "web"}]
    assert sent["ChangeSetName"].startswith("tap-preflight-")


def test_a_flag_that_cannot_apply_to_the_stack_stops_preflight_as_it_stops_deploy(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["preflight", "--stack-name", "pf", "--template-file", template(tmp_path), "--revert-drift"]
    )
    with pytest.raises(BadInput, match="--revert-drift: stack pf is being created"):
        _inputs(SimpleNamespace(pacer=None, s3=None), deploy_options(args), None)  # type: ignore[arg-type]


def test_every_deploy_flag_is_carried_by_the_manifest_or_listed_with_why_not() -> None:
    deploy = options("deploy")
    decided = set(FLAG_KEYS) | COMMAND_FLAGS | set(NOT_IN_MANIFEST)
    assert deploy - decided == set(), "decide in deployer/fleet/manifest_flags.py"
    assert decided - deploy == set(), "a flag deploy no longer has"
    assert not (set(FLAG_KEYS) & set(NOT_IN_MANIFEST)) and not (COMMAND_FLAGS & set(NOT_IN_MANIFEST))
    assert set(FLAG_KEYS.values()) <= STACK_KEYS
    assert options("manifest") >= COMMAND_FLAGS
    assert all(reason for reason in NOT_IN_MANIFEST.values())


def declaration(action: argparse.Action) -> dict[str, Any]:
    """What a user sees of a flag and what the parser stores: two commands sharing a flag must agree on all of it."""
    keys = (
        "option_strings",
        "dest",
        "default",
        "help",
        "type",
        "nargs",
        "const",
        "choices",
        "metavar",
        "required",
    )
    return {"action": type(action).__name__, **{key: getattr(action, key) for key in keys}}


@pytest.mark.parametrize(
    ("command", "some_shared"),
    [
        ("execute", {"--disable-rollback", "--fail-on-empty-changeset", "--outputs-file", "--allow-removal"}),
        ("status", {"--outputs-file"}),
    ],
)
def test_a_flag_another_command_shares_with_deploy_is_declared_identically(
    command: str, some_shared: set[str]
) -> None:
    deploy, other = (
        {a.option_strings[0]: a for a in subparser(name)._actions} for name in ("deploy", command)
    )
    shared = (set(deploy) & set(other)) - HELP
    assert some_shared <= shared
    differing = sorted(flag for flag in shared if declaration(deploy[flag]) != declaration(other[flag]))
    assert differing == [], "declare a flag deploy shares once, in deployer/deploy_flags.py"


def test_the_flags_execute_shares_with_deploy_set_the_same_options(tmp_path: Path) -> None:
    switches = ["--disable-rollback", "--termination-protection", "--fail-on-empty-changeset"]
    given = [
        *switches,
        "--outputs-file",
        "out.json",
        "--allow-replacement",
        "KmsKey",
        "--allow-removal",
        "Logs",
    ]
    given += ["--require-approval", "any-change"]
    deploy = deploy_options(
        build_parser().parse_args(
            ["deploy", "--stack-name", "s", "--template-file", template(tmp_path), *given]
        )
    )
    execute = execute_options(
        build_parser().parse_args(["execute", "--stack-name", "s", "--change-set-name", "c", *given])
    )
    shared = [f.name for f in dataclasses.fields(ExecuteOptions) if f.name != "change_set_name"]
    assert {name: getattr(execute, name) for name in shared} == {
        name: getattr(deploy, name) for name in shared
    }
    assert execute.disable_rollback and execute.require_approval is Approval.ANY_CHANGE


def test_the_import_request_shares_deploys_fields_and_leaves_out_what_only_creating_and_updating_use(
    tmp_path: Path,
) -> None:
    alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:app-5xx"
    topic = "arn:aws:sns:us-east-1:123456789012:deploys"
    given = ["--on-failure", "DO_NOTHING", "--rollback-alarm", alarm, "--notification-arns", topic]
    given += ["--tags", "team=web", "--role-arn", "arn:aws:iam::123456789012:role/cfn"]
    args = build_parser().parse_args(
        ["deploy", "--stack-name", "app", "--template-file", template(tmp_path), *given]
    )
    opts = deploy_options(args)
    adopted = [
        {
            "ResourceType": "AWS::S3::Bucket",
            "LogicalResourceId": "B",
            "ResourceIdentifier": {"BucketName": "b"},
        }
    ]
    create = changeset.request_for(opts, "CREATE", [], name="c").api_kwargs()
    imported = changeset.request_for(opts, "IMPORT", [], name="c", resources_to_import=adopted).api_kwargs()
    # What creating the stack sends, the import sends too: tags, notifications, the service role, capabilities.
    shared = {k: v for k, v in create.items() if k not in {"ChangeSetType", "Description"}}
    assert {k: imported[k] for k in shared if k in imported} == {
        k: v for k, v in shared.items() if k not in {"OnStackFailure", "RollbackConfiguration"}
    }
    assert create["OnStackFailure"] == "DO_NOTHING" and "RollbackConfiguration" in create
    assert imported["ChangeSetType"] == "IMPORT" and imported["ResourcesToImport"] == adopted
    assert not {"OnStackFailure", "DeploymentMode", "RollbackConfiguration"} & set(imported)

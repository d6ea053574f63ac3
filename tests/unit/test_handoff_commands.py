"""The hand-off page's shell commands: they parse as bash, and every AWS CLI flag exists for its command.

Flags are checked against botocore's service and waiter models, the same models the AWS CLI builds its
commands from (`TemplateURL` becomes `--template-url`), so a misspelt or invented flag fails here, offline.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from functools import cache
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from botocore.model import OperationModel

from generator.docs import render_page
from generator.render import to_json
from generator.runbook import INLINE_LIMIT
from templates import REGISTRY
from tests.template_helpers import stack_dict

NAMES = sorted(REGISTRY)
GLOBAL_FLAGS = {"--region", "--query", "--output", "--profile", "--endpoint-url"}
# The CLI adds these to every operation that has a paginator.
PAGINATION_FLAGS = {"--max-items", "--starting-token", "--page-size"}
CLI_TO_BOTOCORE = {"s3api": "s3"}
# Commands the AWS CLI adds on top of the API (customizations), with their flags from the CLI reference.
CUSTOM_COMMANDS = {
    ("cloudformation", "deploy"): {
        "--template-file",
        "--stack-name",
        "--s3-bucket",
        "--force-upload",
        "--s3-prefix",
        "--kms-key-id",
        "--parameter-overrides",
        "--capabilities",
        "--no-execute-changeset",
        "--disable-rollback",
        "--no-disable-rollback",
        "--role-arn",
        "--notification-arns",
        "--fail-on-empty-changeset",
        "--no-fail-on-empty-changeset",
        "--tags",
    },
    ("s3", "cp"): {"--recursive", "--sse", "--sse-kms-key-id", "--only-show-errors"},
    ("s3", "ls"): set(),
    ("s3", "rm"): {"--recursive"},
    ("s3", "mb"): set(),
}


@cache
def page(name: str, size: int | None = None) -> str:
    """The rendered page (a str, so sharing it between tests shares nothing mutable)."""
    t = stack_dict(name)
    return render_page(name, t, len(to_json(t).encode()) if size is None else size)


def sh_blocks(markdown: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", markdown, re.S)


def aws_commands(markdown: str, mentions: bool = False) -> list[list[str]]:
    """Every `aws ...` command in the page's shell blocks as an argument list; with `mentions`, also those in
    inline code in the text, which may name a command without every argument it needs."""
    lines = [line for block in sh_blocks(markdown) for line in block.replace("\\\n", " ").splitlines()]
    if mentions:
        lines += re.findall(r"(?<!`)`(aws [^`]+)`", markdown)
    found = []
    for line in lines:
        words = shlex.split(line, comments=True)
        for stop in (">", "|", "&&", ";"):
            words = words[: words.index(stop)] if stop in words else words
        if words[:1] == ["aws"]:
            found.append(words)
    return found


@cache
def _session() -> botocore.session.Session:
    # One session, so its loader parses each service model once per run rather than once per command.
    return botocore.session.get_session()


@cache
def _client(service: str) -> Any:
    """A read-only client, used only for its waiter and paginator models (it never makes a request)."""
    return _session().create_client(service, region_name="us-east-1")


@cache
def operations(service: str) -> dict[str, OperationModel]:
    model = _session().get_service_model(service)
    ops = {xform_name(op, "-"): model.operation_model(op) for op in model.operation_names}
    client = _client(service)
    for waiter in client.waiter_names:
        ops[f"wait {waiter.replace('_', '-')}"] = model.operation_model(
            client.get_waiter(waiter).config.operation
        )
    return ops


def problems_with(words: list[str], complete: bool = True) -> list[str]:
    service, rest = words[1], words[2:]
    command = " ".join(rest[:2]) if rest[:1] == ["wait"] else rest[0]
    flags = {w.split("=", 1)[0] for w in rest if w.startswith("--")}
    custom = CUSTOM_COMMANDS.get((service, command))
    if custom is not None:
        return [f"{' '.join(words[:3])}: no flag {f}" for f in sorted(flags - custom - GLOBAL_FLAGS)]
    ops = operations(CLI_TO_BOTOCORE.get(service, service))
    if command not in ops:
        return [f"aws {service} {command}: no such command"]
    shape = ops[command].input_shape
    members = {f"--{xform_name(m, '-')}": m for m in (shape.members if shape else {})}
    allowed = set(members) | GLOBAL_FLAGS
    client = _client(CLI_TO_BOTOCORE.get(service, service))
    if not command.startswith("wait ") and client.can_paginate(xform_name(ops[command].name)):
        allowed |= PAGINATION_FLAGS
    problems = [f"aws {service} {command}: no flag {f}" for f in sorted(flags - allowed)]
    required = {f"--{xform_name(m, '-')}" for m in (shape.required_members if shape else [])}
    if complete:
        problems += [f"aws {service} {command}: missing required {f}" for f in sorted(required - flags)]
    return problems


@pytest.mark.parametrize("size", [INLINE_LIMIT, INLINE_LIMIT + 1], ids=["inline", "uploaded"])
@pytest.mark.parametrize("name", NAMES)
def test_every_shell_block_parses_as_bash(name: str, size: int) -> None:
    """A `<placeholder>` in a command is a redirection to bash: the whole pasted block would fail."""
    for block in sh_blocks(page(name, size)):
        done = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{done.stderr}\n{block}"


@pytest.mark.parametrize("size", [INLINE_LIMIT, INLINE_LIMIT + 1], ids=["inline", "uploaded"])
@pytest.mark.parametrize("name", NAMES)
def test_every_aws_cli_command_uses_flags_its_command_has(name: str, size: int) -> None:
    text = page(name, size)
    commands = aws_commands(text)
    assert len(commands) >= 10
    problems = [p for words in commands for p in problems_with(words)]
    problems += [
        p for words in aws_commands(text, mentions=True) for p in problems_with(words, complete=False)
    ]
    assert not problems, "\n".join(problems)


def test_flag_check_catches_a_misspelt_flag_and_a_missing_required_one() -> None:
    assert problems_with(
        shlex.split("aws cloudformation create-change-set --stack-name s --template-uri u")
    ) == [
        "aws cloudformation create-change-set: no flag --template-uri",
        "aws cloudformation create-change-set: missing required --change-set-name",
    ]
    assert (
        problems_with(["aws", "cloudformation", "wait", "stack-create-complete", "--stack-name", "s"]) == []
    )
    assert problems_with(["aws", "cloudformation", "deploy", "--parameters", "x"]) == [
        "aws cloudformation deploy: no flag --parameters"
    ]


@pytest.mark.parametrize("name", NAMES)
def test_a_template_over_the_inline_limit_is_uploaded_and_read_by_url(name: str) -> None:
    text = page(name, INLINE_LIMIT + 1)
    commands = [
        c
        for c in aws_commands(text)
        if c[1:3] in (["cloudformation", "create-change-set"], ["cloudformation", "validate-template"])
        and "IMPORT" not in c  # the import template holds only the retained resources: small, passed inline
    ]
    # a new stack, an existing stack, validation, the update after an import, back to the last good version
    assert len(commands) == 5
    for words in commands:
        assert "--template-url" in words and "--template-body" not in words, words
    # Content-addressed: every version of the template stays in the bucket under its sha256.
    assert (
        f'aws s3 cp output/{name}.json "s3://$BUCKET/templates/{name}-$SHA.json" --region "$REGION"' in text
    )
    deploy = next(c for c in aws_commands(text) if c[1:3] == ["cloudformation", "deploy"])
    assert "--s3-bucket" in deploy


@pytest.mark.parametrize("name", NAMES)
def test_a_template_within_the_inline_limit_is_passed_as_a_body(name: str) -> None:
    text = page(name, INLINE_LIMIT)
    assert "--template-url" not in text and "aws s3 cp output/" not in text
    bodies = [c for c in aws_commands(text) if f"file://output/{name}.json" in c]
    assert {c[2] for c in bodies} == {"create-change-set", "validate-template"}


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "ops-artifacts.s3.amazonaws.com"),
        ("eu-west-1", "ops-artifacts.s3.eu-west-1.amazonaws.com"),
        ("us-gov-west-1", "ops-artifacts.s3.us-gov-west-1.amazonaws.com"),
        ("cn-north-1", "ops-artifacts.s3.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_template_url_is_the_uploaded_objects_https_url_in_each_region(region: str, host: str) -> None:
    blocks = sh_blocks(page("tap-stack", INLINE_LIMIT + 1))
    (setup,) = [b for b in blocks if "VARIABLES_OK=" in b]
    case = setup[setup.index('case "$REGION" in') : setup.index("esac") + len("esac")]
    (url,) = {
        line.strip() for b in blocks for line in b.split("\n") if line.strip().startswith("TEMPLATE_URL=")
    }
    script = f'REGION={region}\nBUCKET=ops-artifacts\nSHA=0a1b\n{case}\n{url}\necho "$TEMPLATE_URL"\n'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"https://{host}/templates/tap-stack-0a1b.json"


@pytest.mark.parametrize("name", NAMES)
def test_change_sets_pass_the_capabilities_the_template_needs(name: str) -> None:
    from generator.describe import capabilities

    needed = [cap for cap, _ in capabilities(stack_dict(name))]
    for words in aws_commands(page(name)):
        if words[1:3] in (["cloudformation", "create-change-set"], ["cloudformation", "deploy"]):
            given = words[words.index("--capabilities") + 1 :] if "--capabilities" in words else []
            assert given[: len(needed)] == needed, words

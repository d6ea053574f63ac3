"""The manifest is read and checked whole before any AWS call; every problem exits 2 naming its line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from deployer.arguments import build_parser
from deployer.clients import ClientSettings
from deployer.errors import ExitCode
from deployer.fleet.command import run_manifest_command
from deployer.fleet.manifest import OutputRef, load_manifest
from tests.deploy._manifest import write_manifest

GOOD = """
[settings]
max_parallel = 3
calls_per_second = 2.5

[defaults]
region = "us-east-1"
tags = { team = "web" }

[stacks.network-prod]
stack_name = "network"
template = "network.json"
region = "eu-west-1"
role_arn = "arn:aws:iam::111122223333:role/deployer"
external_id = "tap-ext"
parameters = { Env = "prod" }

[stacks.app-prod]
template = "app.json"
profile = "prod"
depends_on = []
parameters = { Upstream = { from = "network-prod", output = "TopicArn" }, Size = "large" }
tags = { team = "app", cost = "42" }
"""


def test_a_valid_manifest_is_read_with_defaults_and_implied_dependencies(tmp_path: Path) -> None:
    manifest = load_manifest(write_manifest(tmp_path, GOOD))
    assert list(manifest.stacks) == ["network-prod", "app-prod"]
    network, app = manifest.stacks["network-prod"], manifest.stacks["app-prod"]
    assert (network.stack_name, network.region, network.account) == ("network", "eu-west-1", "111122223333")
    assert network.credentials.external_id == "tap-ext"
    assert network.tags == {"team": "web"}  # from [defaults]
    assert (app.stack_name, app.region, app.credentials.profile) == ("app-prod", "us-east-1", "prod")
    assert app.inputs == {"Upstream": OutputRef("network-prod", "TopicArn")}
    assert app.parameters == {"Size": "large"}
    assert app.depends_on == ("network-prod",)
    assert app.tags == {"team": "app", "cost": "42"}  # a stack's table replaces the default
    assert (manifest.settings.max_parallel, manifest.settings.calls_per_second) == (3, 2.5)


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    lines = text.lstrip("\n").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


# (what is wrong, manifest text, the text of the line the error must name, words of the message)
CASES: list[tuple[str, str, str, str]] = [
    ("unknown top-level key", GOOD + "\n[stackz.x]\ntemplate = 'a'\n", "[stackz.x]", "unknown key 'stackz'"),
    (
        "unknown stack key",
        _with(GOOD, 'profile = "prod"', 'profle = "prod"'),
        "profle",
        "unknown key 'profle'",
    ),
    ("unknown settings key", _with(GOOD, "max_parallel = 3", "parallel = 3"), "parallel = 3", "'parallel'"),
    (
        "unknown region",
        _with(GOOD, 'region = "eu-west-1"', 'region = "eu-west-9"'),
        "eu-west-9",
        "unknown region",
    ),
    (
        "bad default region",
        _with(GOOD, 'region = "us-east-1"', 'region = "us-east"'),
        'region = "us-east"',
        "unknown region",
    ),
    (
        "missing template",
        _with(GOOD, 'template = "app.json"', 'template = "nope.json"'),
        "nope.json",
        "nope.json",
    ),
    (
        "missing parameters file",
        _with(GOOD, 'profile = "prod"', 'profile = "prod"\nparameters_file = "p.json"'),
        "parameters_file",
        "p.json",
    ),
    (
        "dependency on an unknown stack",
        _with(GOOD, "depends_on = []", 'depends_on = ["dns"]'),
        "depends_on",
        "unknown stack 'dns'",
    ),
    (
        "output of an unknown stack",
        _with(GOOD, 'from = "network-prod"', 'from = "network-dev"'),
        "network-dev",
        "unknown stack 'network-dev'",
    ),
    (
        "output the producer does not declare",
        _with(GOOD, 'output = "TopicArn"', 'output = "VpcId"'),
        "VpcId",
        "no output 'VpcId'",
    ),
    (
        "cycle",
        _with(GOOD, 'stack_name = "network"', 'stack_name = "network"\ndepends_on = ["app-prod"]'),
        "[stacks.network-prod]",
        "dependency cycle: network-prod -> app-prod -> network-prod",
    ),
    (
        "external id without a role",
        _with(GOOD, 'profile = "prod"', 'profile = "prod"\nexternal_id = "x"'),
        'external_id = "x"',
        "without role_arn",
    ),
    (
        "role that is not a role ARN",
        _with(GOOD, "role/deployer", "user/deployer"),
        "role_arn",
        "not an IAM role ARN",
    ),
    ("parameter the template lacks", _with(GOOD, 'Size = "large"', 'Colour = "red"'), "Colour", "Colour"),
    ("bad TOML", _with(GOOD, "max_parallel = 3", "max_parallel = = 3"), "max_parallel", "not valid TOML"),
    (
        "reserved tag prefix",
        _with(GOOD, 'cost = "42"', '"aws:cost" = "42"'),
        'tags = { team = "app"',
        "aws: prefix",
    ),
    (
        "same stack twice",
        _with(
            GOOD,
            'template = "app.json"',
            'template = "app.json"\nstack_name = "network"\nregion = "eu-west-1"',
        ).replace('profile = "prod"\n', 'role_arn = "arn:aws:iam::111122223333:role/deployer"\n'),
        "[stacks.app-prod]",
        "are the same stack",
    ),
    (
        "same stack twice, only one entry naming its account",
        _with(
            GOOD,
            'template = "app.json"',
            'template = "app.json"\nstack_name = "network"\nregion = "eu-west-1"',
        ),
        "[stacks.app-prod]",
        "are the same stack",
    ),
    (
        "same stack twice through two profiles",
        GOOD.replace(
            'role_arn = "arn:aws:iam::111122223333:role/deployer"\nexternal_id = "tap-ext"\n',
            'profile = "ops"\n',
        ).replace(
            'template = "app.json"', 'template = "app.json"\nstack_name = "network"\nregion = "eu-west-1"'
        ),
        "[stacks.app-prod]",
        "are the same stack",
    ),
    (
        "zero max_parallel",
        _with(GOOD, "max_parallel = 3", "max_parallel = 0"),
        "max_parallel = 0",
        "max_parallel",
    ),
    ("literal value against a constraint", _with(GOOD, 'Env = "prod"', "Env = 5"), "Env = 5", "string or"),
]


def _no_aws(settings: ClientSettings) -> Any:
    raise AssertionError(f"an AWS client was built ({settings}) although the manifest is invalid")


@pytest.mark.parametrize(("problem", "text", "line_text", "words"), CASES, ids=[c[0] for c in CASES])
def test_every_problem_exits_2_naming_the_line_before_any_aws_call(
    tmp_path: Path, problem: str, text: str, line_text: str, words: str
) -> None:
    path = write_manifest(tmp_path, text)
    args = build_parser().parse_args(["manifest", "deploy", str(path)])
    out, err = io.StringIO(), io.StringIO()
    code = run_manifest_command(args, ["manifest", "deploy", str(path)], out, err, make_factory=_no_aws)
    assert code == ExitCode.BAD_INPUT, err.getvalue()
    message = err.getvalue()
    assert message.count("\n") == 1 and message.startswith("error: "), message
    assert f"{path}:{_line_of(text, line_text)}: " in message, message
    assert words in message, message
    assert out.getvalue() == ""


def test_one_stack_name_in_two_explicit_accounts_is_two_stacks(tmp_path: Path) -> None:
    text = _with(
        GOOD,
        'template = "app.json"',
        'template = "app.json"\nstack_name = "network"\nregion = "eu-west-1"\naccount = "444455556666"',
    )
    manifest = load_manifest(write_manifest(tmp_path, text))
    assert [e.account for e in manifest.stacks.values()] == ["111122223333", "444455556666"]


def test_only_with_an_unknown_name_is_bad_input(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, GOOD)
    args = build_parser().parse_args(["manifest", "deploy", str(path), "--only", "app-dev"])
    err = io.StringIO()
    code = run_manifest_command(args, [], io.StringIO(), err, make_factory=_no_aws)
    assert code == ExitCode.BAD_INPUT
    assert "no stack named app-dev" in err.getvalue() and "network-prod, app-prod" in err.getvalue()


def test_validate_prints_the_order_and_calls_nothing(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, GOOD)
    args = build_parser().parse_args(["manifest", "validate", str(path)])
    out = io.StringIO()
    assert run_manifest_command(args, [], out, io.StringIO(), make_factory=_no_aws) == 0
    assert "in this order: network-prod, app-prod; up to 3 at once" in out.getvalue()


def test_a_missing_manifest_file_is_bad_input(tmp_path: Path) -> None:
    args = build_parser().parse_args(["manifest", "plan", str(tmp_path / "absent.toml")])
    err = io.StringIO()
    assert run_manifest_command(args, [], io.StringIO(), err, make_factory=_no_aws) == ExitCode.BAD_INPUT
    assert "cannot read manifest" in err.getvalue()

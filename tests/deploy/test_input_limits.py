"""Limits at their exact edges: parameter lengths, stack-name length, and the S3 key of an uploaded template."""

from __future__ import annotations

import hashlib

import pytest

from deployer.errors import ExitCode
from deployer.inputs import check_value
from deployer.upload import object_key
from tests.deploy.conftest import Harness

LENGTHS = {"Type": "String", "MinLength": 2, "MaxLength": 20}


@pytest.mark.parametrize("length", [2, 3, 19, 20])
def test_values_from_min_length_to_exactly_max_length_are_accepted(length: int) -> None:
    assert check_value("EnvironmentSuffix", "a" * length, LENGTHS) == []


@pytest.mark.parametrize(
    ("length", "limit"), [(1, "shorter than MinLength 2"), (21, "longer than MaxLength 20")]
)
def test_values_one_past_either_length_are_rejected(length: int, limit: str) -> None:
    problems = check_value("EnvironmentSuffix", "a" * length, LENGTHS)
    assert len(problems) == 1 and limit in problems[0]


def test_a_value_of_exactly_max_length_reaches_the_change_set(harness: Harness) -> None:
    harness.expect_stack(None)
    harness.expect_create_change_set(
        "CREATE", Parameters=[{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "a" * 20}]
    )

    def stop(seconds: float) -> None:
        if "CreateChangeSet" in harness.calls:
            raise KeyboardInterrupt

    harness.clock.sleep = stop  # type: ignore[method-assign]
    code = harness.run(*harness.deploy_args("--parameter-overrides", "EnvironmentSuffix=" + "a" * 20))
    assert code == ExitCode.INTERRUPTED  # got past every input check and created the change set


@pytest.mark.parametrize("length", [1, 128])
def test_stack_names_up_to_128_characters_are_accepted(harness: Harness, length: int) -> None:
    name = "s" * length
    harness.expect_stack(None, name=name)
    assert harness.run("status", "--stack-name", name) == ExitCode.BAD_INPUT
    assert "does not exist" in harness.errors  # it got as far as asking AWS


@pytest.mark.parametrize("length", [129, 256])
def test_stack_names_over_128_characters_are_rejected_before_any_call(harness: Harness, length: int) -> None:
    assert harness.run("status", "--stack-name", "s" * length) == ExitCode.BAD_INPUT
    assert "stack name" in harness.errors and "128" in harness.errors
    assert harness.calls == []


@pytest.mark.parametrize("prefix", ["cfn", "cfn/", "/cfn", "cfn/nested/"])
def test_the_s3_key_is_the_prefix_a_slash_and_the_content_hash(prefix: str) -> None:
    digest = hashlib.sha256(b"{}").hexdigest()
    assert object_key("{}", prefix) == f"{prefix.strip('/')}/{digest}.template.json"


def test_without_a_prefix_the_s3_key_is_the_content_hash_alone() -> None:
    assert object_key("{}", None) == f"{hashlib.sha256(b'{}').hexdigest()}.template.json"

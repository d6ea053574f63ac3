"""Tags within CloudFormation's limits (key 1-128, value 1-256 characters), checked before any AWS call."""

from __future__ import annotations

import pytest

from cfnspec.limits import TAG_KEY_LENGTH, TAG_VALUE_LENGTH
from deployer.errors import ExitCode
from tests.deploy.conftest import Harness
from tests.deploy.test_bad_inputs import assert_rejected

pytestmark = pytest.mark.deploy


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("Owner=", "values are 1 to 256 characters, this one has 0"),
        ("Owner=" + "v" * (TAG_VALUE_LENGTH[1] + 1), "values are 1 to 256 characters, this one has 257"),
        ("k" * (TAG_KEY_LENGTH[1] + 1) + "=v", "keys are 1 to 128 characters"),
    ],
    ids=["empty-value", "value-257", "key-129"],
)
def test_a_tag_outside_the_limits_is_exit_2_before_any_aws_call(
    harness: Harness, tag: str, message: str
) -> None:
    assert_rejected(harness, harness.run(*harness.deploy_args("--tags", tag)), message)
    assert harness.calls == []  # no old change set deleted, nothing uploaded


def test_an_empty_tag_value_in_a_parameters_file_is_refused_too(harness: Harness) -> None:
    path = harness.tmp / "config.json"
    path.write_text('{"Parameters": {}, "Tags": {"Owner": ""}}', encoding="utf-8")
    assert_rejected(harness, harness.run(*harness.deploy_args("--parameters-file", str(path))), "'Owner'")
    assert harness.calls == []


def test_a_tag_at_both_maximum_lengths_reaches_the_change_set(harness: Harness) -> None:
    key, value = "k" * TAG_KEY_LENGTH[1], "v" * TAG_VALUE_LENGTH[1]
    harness.expect_stack(None)
    harness.expect_create_change_set("CREATE", Tags=[{"Key": key, "Value": value}])

    def stop(seconds: float) -> None:
        if "CreateChangeSet" in harness.calls:
            raise KeyboardInterrupt

    harness.clock.sleep = stop  # type: ignore[method-assign]
    code = harness.run(*harness.deploy_args("--tags", f"{key}={value}", "--skip-preflight"))
    assert code == ExitCode.INTERRUPTED  # past every input check: the change set was created

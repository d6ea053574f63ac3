"""A parameter whose change needs a new stack (cfnspec.update_outcomes) is refused by deploy and plan before any
change set: exit 2, one line naming the new stack (blue/green) and the ops page's section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cfnspec.update_outcomes import NEW_STACK_SECTION, Outcome, update_outcomes
from deployer.errors import BadInput, ExitCode
from deployer.identity import changed_values, refuse_new_stack_changes
from deployer.inputs import load_template
from tests.deploy.conftest import STACK, STACK_ID, Harness

TEMPLATE = Path(__file__).resolve().parents[2] / "output" / "tap-stack.json"
DOC: dict[str, Any] = json.loads(TEMPLATE.read_text(encoding="utf-8"))
NEW_VALUES = {"EnvironmentSuffix": "blue", "VpcCidr": "10.9.0.0/16"}


def _deployed(**values: str) -> list[dict[str, str]]:
    """The deployed stack's parameters as DescribeStacks lists them: the defaults, with these values."""
    return [
        {"ParameterKey": name, "ParameterValue": values.get(name, str(spec.get("Default", "")))}
        for name, spec in DOC["Parameters"].items()
    ]


def test_the_refused_parameters_are_the_ones_the_table_says_need_a_new_stack() -> None:
    needing = {p for p, o in update_outcomes(DOC).items() if o.outcome is Outcome.NEW_STACK}
    assert needing == set(NEW_VALUES)


def _run(harness: Harness, command: str, overrides: list[str], *extra: str) -> int:
    # The template is over the inline limit: its bucket is checked before anything else (deployer/upload.py).
    harness.s3_stub.add_response("head_bucket", {}, {"Bucket": "templates"})
    return harness.run(
        command,
        "--stack-name",
        STACK,
        "--template-file",
        str(TEMPLATE),
        "--s3-bucket",
        "templates",
        "--capabilities",
        "CAPABILITY_IAM",
        "--skip-preflight",
        *extra,
        "--parameter-overrides",
        *overrides,
    )


@pytest.mark.parametrize("command", ["deploy", "plan"])
@pytest.mark.parametrize("parameter", sorted(NEW_VALUES))
def test_a_change_that_needs_a_new_stack_is_refused_before_any_change_set(
    harness: Harness, command: str, parameter: str
) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=_deployed())
    code = _run(harness, command, [f"{parameter}={NEW_VALUES[parameter]}"])
    assert code == ExitCode.BAD_INPUT
    # Only reads: the template bucket is checked (HeadBucket) and the stack is read, nothing else.
    assert harness.calls == ["HeadBucket", "DescribeStacks"], (
        "refused before a change set, an upload or a preflight call"
    )
    error = harness.errors.strip()
    assert error.count("\n") == 0
    default = DOC["Parameters"][parameter]["Default"]
    for part in (parameter, f"{default!r} -> {NEW_VALUES[parameter]!r}", "new stack", "blue/green"):
        assert part in error, part
    assert f'"{NEW_STACK_SECTION}" in {TEMPLATE.with_suffix(".md")}' in error


def test_allow_replacement_does_not_override_the_refusal(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=_deployed())
    replaced = update_outcomes(DOC)["EnvironmentSuffix"].ids("replaced")
    allow = [arg for logical_id in replaced for arg in ("--allow-replacement", logical_id)]
    assert _run(harness, "deploy", ["EnvironmentSuffix=blue"], *allow) == ExitCode.BAD_INPUT
    assert harness.mutating_calls == []


def test_a_stack_being_created_takes_any_value() -> None:
    template = load_template(TEMPLATE)
    refuse_new_stack_changes(template, None, [{"ParameterKey": "VpcCidr", "ParameterValue": "10.9.0.0/16"}])


def test_use_previous_value_and_the_same_value_are_no_change() -> None:
    template = load_template(TEMPLATE)
    stack = {"StackName": STACK, "StackId": STACK_ID, "Parameters": _deployed(EnvironmentSuffix="green")}
    given = [
        {"ParameterKey": "EnvironmentSuffix", "UsePreviousValue": True},
        {"ParameterKey": "VpcCidr", "ParameterValue": DOC["Parameters"]["VpcCidr"]["Default"]},
        {"ParameterKey": "MaxSize", "ParameterValue": "9"},
    ]
    assert changed_values(stack, given) == {"MaxSize": ("5", "9")}
    refuse_new_stack_changes(template, stack, given)  # MaxSize changes in place: no refusal


def test_a_masked_or_new_parameter_is_not_taken_as_changed() -> None:
    stack = {"Parameters": [{"ParameterKey": "Secret", "ParameterValue": "****"}]}
    given = [
        {"ParameterKey": "Secret", "ParameterValue": "s3cret"},
        {"ParameterKey": "Added", "ParameterValue": "x"},
    ]
    assert changed_values(stack, given) == {}


def test_both_changed_at_once_names_both() -> None:
    template = load_template(TEMPLATE)
    stack = {"StackName": STACK, "Parameters": _deployed()}
    given = [{"ParameterKey": k, "ParameterValue": v} for k, v in NEW_VALUES.items()]
    with pytest.raises(BadInput) as refused:
        refuse_new_stack_changes(template, stack, given)
    message = str(refused.value)
    assert "EnvironmentSuffix (and VpcCidr) cannot change" in message
    assert "EnvironmentSuffix=dev VpcCidr=10.0.0.0/16" in message

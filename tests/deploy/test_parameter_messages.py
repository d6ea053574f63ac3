"""What a user reads when a parameter is wrong: a misspelt name is answered with the name it meant, and a broken
constraint leads with the fix (the ConstraintDescription) rather than a long regular expression. Exit 2, nothing
called."""

from __future__ import annotations

import json
from pathlib import Path

from cfnspec.parameters import PATTERN_SHOWN, check_value
from tests.deploy.conftest import Harness
from tests.deploy.test_bad_inputs import assert_rejected

OUTPUT = Path(__file__).resolve().parents[2] / "output"


def tap_stack_args(*overrides: str) -> list[str]:
    return [
        "deploy",
        "--stack-name",
        "tap-dev",
        "--template-file",
        str(OUTPUT / "tap-stack.json"),
        "--capabilities",
        "CAPABILITY_IAM",
        "--parameter-overrides",
        *overrides,
    ]


def test_a_misspelt_parameter_name_is_answered_with_the_name_it_meant(harness: Harness) -> None:
    code = harness.run(*tap_stack_args("InstanceTyp=t3.small"))
    assert_rejected(harness, code, "unknown parameter InstanceTyp: did you mean InstanceType?")
    assert harness.calls == []


def test_a_name_like_no_declared_one_lists_what_the_template_declares(harness: Harness) -> None:
    code = harness.run(*harness.deploy_args("--parameter-overrides", "Zzz=1", "MinSiz=3"))
    assert_rejected(
        harness,
        code,
        "unknown parameter MinSiz: did you mean MinSize?",
        "unknown parameter(s) Zzz; the template declares EnvironmentSuffix, InstanceType, MinSize",
    )


def test_a_broken_pattern_leads_with_the_constraint_description_and_shortens_the_pattern(
    harness: Harness,
) -> None:
    spec = json.loads((OUTPUT / "tap-stack.json").read_text())["Parameters"]["VpcCidr"]
    assert len(spec["AllowedPattern"]) > 1000  # the case this is about
    code = harness.run(*tap_stack_args("VpcCidr=10.0.0.0/8"))
    fix = spec["ConstraintDescription"].rstrip(".")
    assert_rejected(harness, code, f"parameters rejected: VpcCidr='10.0.0.0/8': {fix}; does not match")
    (problem,) = check_value("VpcCidr", "10.0.0.0/8", spec)
    tail = problem.split("does not match AllowedPattern ", 1)[1]
    assert tail.startswith(repr(spec["AllowedPattern"][: PATTERN_SHOWN - 3])), tail
    assert len(tail) < PATTERN_SHOWN + 40 and "1,108 characters, shortened" in tail, tail
    assert len(harness.errors) < 600, harness.errors


def test_a_short_pattern_is_quoted_whole() -> None:
    spec = {"Type": "String", "AllowedPattern": "[a-z]+", "ConstraintDescription": "lower-case letters."}
    assert check_value("P", "A", spec) == [
        "P='A': lower-case letters; does not match AllowedPattern '[a-z]+'"
    ]


def test_a_misspelt_allowed_value_is_answered_with_the_value_it_meant() -> None:
    spec = {"Type": "String", "AllowedValues": ["t3.micro", "t3.small"]}
    (problem,) = check_value("InstanceType", "t3.smal", spec)
    assert problem.endswith("did you mean 't3.small'?"), problem


def test_a_number_is_not_offered_a_near_spelling_of_another_number() -> None:
    spec = {"Type": "String", "AllowedValues": [str(n) for n in range(2, 11)]}
    (problem,) = check_value("MinSize", "1", spec)
    assert "did you mean" not in problem, problem

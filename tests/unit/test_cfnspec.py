"""cfnspec: the rules generate.py's example checks and deploy.py's offline check share, tested through both."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cfnspec.parameters
import deployer.inputs
import generator.checks
from cfnspec import limits
from cfnspec.capabilities import required_capabilities
from cfnspec.parameters import group_size_problems, python_pattern
from cfnspec.stateful import is_stateful, kept_on_delete, left_on_delete
from deployer.capabilities import check_capabilities
from deployer.errors import BadInput
from generator import describe
from tests.template_helpers import stack_dict

ROOT = Path(__file__).resolve().parents[2]


def generator_problems(template: dict[str, Any], values: dict[str, str]) -> list[str]:
    return generator.checks.validate_parameter_file(template, {"Parameters": values})


def deployer_problems(template: dict[str, Any], values: dict[str, str]) -> list[str]:
    parsed = deployer.inputs.Template(path=Path("t.json"), body=json.dumps(template), doc=template)
    try:
        deployer.inputs.check_given_parameters(parsed, values)
        deployer.inputs.resolve_parameters(parsed, values, existing=None)
    except BadInput as err:
        return [str(err)]
    return []


PATHS: dict[str, Callable[[dict[str, Any], dict[str, str]], list[str]]] = {
    "generate.py": generator_problems,
    "deploy.py": deployer_problems,
}


def one_parameter(spec: dict[str, Any]) -> dict[str, Any]:
    return {"Parameters": {"P": spec}, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}


def test_both_tools_use_the_one_implementation() -> None:
    assert generator.checks.check_value is cfnspec.parameters.check_value
    assert deployer.inputs.check_value is cfnspec.parameters.check_value


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("spec", "value", "rejected_with"),
    [
        # A Number is passed on by Ref as the string given: "90.0" is not the "90" the template allows.
        ({"Type": "Number", "AllowedValues": [30, 90]}, "90.0", "write it as '90'"),
        ({"Type": "Number", "AllowedValues": [30, 90]}, "90", None),
        # MinLength/MaxLength constrain String parameters only.
        ({"Type": "Number", "MinLength": 3, "Default": "1"}, "7", None),
        ({"Type": "AWS::EC2::KeyPair::KeyName", "MinLength": 5}, "key", None),
        ({"Type": "String", "MinLength": 5}, "key", "shorter than MinLength 5"),
        # AllowedPattern is a Java regex: its POSIX classes are read, not crashed on or ignored.
        ({"Type": "String", "AllowedPattern": "\\p{Alpha}+"}, "abc", None),
        ({"Type": "String", "AllowedPattern": "\\p{Alpha}+"}, "ab1", "does not match AllowedPattern"),
        ({"Type": "String", "AllowedPattern": "[\\p{Lower}\\d-]+"}, "web-1", None),
        ({"Type": "String", "AllowedPattern": "[\\p{Lower}\\d-]+"}, "Web-1", "does not match AllowedPattern"),
        ({"Type": "String", "AllowedPattern": "\\P{Digit}+\\z"}, "a1", "does not match AllowedPattern"),
        # A class intersection means something else in Python: left to CloudFormation, never a false rejection.
        ({"Type": "String", "AllowedPattern": "[a-z&&[^e]]+"}, "bee", None),
        # AllowedPattern applies to String and CommaDelimitedList only.
        ({"Type": "List<AWS::EC2::Subnet::Id>", "AllowedPattern": "x"}, "subnet-1", None),
        ({"Type": "CommaDelimitedList", "AllowedPattern": "[a-z]+"}, "a,b1", "does not match AllowedPattern"),
        ({"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]}, "a,b", None),
        ({"Type": "Number"}, "nan", "is not a number"),
    ],
)
def test_each_former_disagreement_has_one_answer_in_both_tools(
    path: str, spec: dict[str, Any], value: str, rejected_with: str | None
) -> None:
    found = PATHS[path](one_parameter(spec), {"P": value})
    if rejected_with is None:
        assert found == []
    else:
        assert len(found) == 1 and rejected_with in found[0], found


@pytest.mark.parametrize(
    ("java", "text", "matches"),
    [
        ("\\p{Alnum}{3}", "a1B", True),
        ("\\p{Punct}", "!", True),
        ("\\p{Punct}", "a", False),
        ("[^\\p{Space}]+", "no-space", True),
        ("[x^]\\p{Digit}", "^1", True),
        ("[]a]+", "]a", True),
        ("\\p{IsAlphabetic}", "a", None),  # a Unicode property Python's re cannot read: unchecked
    ],
)
def test_java_classes_are_translated(java: str, text: str, matches: bool | None) -> None:
    pattern = python_pattern(java)
    if matches is None:
        assert pattern is None
    else:
        assert pattern is not None and (pattern.fullmatch(text) is not None) is matches


# ---- Auto Scaling sizes ---------------------------------------------------------------------------------------


def sized(desired: bool) -> dict[str, Any]:
    number = {"Type": "Number", "Default": "2", "MinValue": 1, "MaxValue": 20}
    props: dict[str, Any] = {"MinSize": {"Ref": "Low"}, "MaxSize": {"Ref": "High"}}
    params = {"Low": dict(number), "High": dict(number, Default="4")}
    if desired:
        params["Want"] = dict(number)
        props["DesiredCapacity"] = {"Ref": "Want"}
    return {
        "Parameters": params,
        "Resources": {"Fleet": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": props}},
    }


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("desired", "values", "message"),
    [
        (False, {"Low": "5", "High": "3"}, "Low=5 is greater than High=3"),
        (False, {"Low": "5"}, "Low=5 is greater than High=4"),  # against the default
        (True, {"Low": "3", "High": "6", "Want": "7"}, "Want=7 is outside [Low=3, High=6]"),
        (True, {"Low": "3"}, "Want=2 is outside [Low=3, High=4]"),
        (True, {"Low": "3", "Want": "3"}, None),
        (False, {"Low": "4", "High": "4"}, None),
    ],
)
def test_group_sizes_out_of_order_are_caught_by_both_tools(
    path: str, desired: bool, values: dict[str, str], message: str | None
) -> None:
    found = PATHS[path](sized(desired), values)
    if message is None:
        assert found == []
    else:
        assert len(found) == 1 and message in found[0] and "Auto Scaling rejects group Fleet" in found[0], (
            found
        )


def test_group_size_check_follows_the_stacks_own_group() -> None:
    t = stack_dict("tap-stack")
    problems = group_size_problems(t, {"MinSize": "5", "MaxSize": "4"})
    assert problems and problems[0].startswith("MinSize=5 is greater than MaxSize=4")
    # generate.py also evaluates the template's Rules, which refuse the same pair first.
    found = generator_problems(t, {"MinSize": "5", "MaxSize": "4"})
    assert found[0].startswith("rule MaxSizeAboveMinSize5 ") and found[1:] == problems


@pytest.mark.parametrize("path", PATHS)
def test_equal_sizes_are_refused_offline_because_a_rolling_update_needs_one_more(path: str) -> None:
    """CloudFormation: a rolling update's MinInstancesInService "must be less than the MaxSize of the Auto
    Scaling group" (UpdatePolicy attribute). The stack's group keeps MinSize in service, so MinSize = MaxSize is
    refused by both tools (as by the template's Rules), while MinSize = MaxSize - 1 passes."""
    t = stack_dict("tap-stack")
    refused = [p for p in PATHS[path](t, {"MinSize": "4", "MaxSize": "4"}) if "MaxSizeAboveMinSize" not in p]
    assert len(refused) == 1 and "MinSize=4 is not less than MaxSize=4: a rolling update" in refused[0], (
        refused
    )
    assert PATHS[path](t, {"MinSize": "4", "MaxSize": "5"}) == []


def test_sizes_that_are_unknown_or_literal_are_handled() -> None:
    t = sized(desired=False)
    t["Resources"]["Fleet"]["Properties"]["MaxSize"] = "3"
    assert group_size_problems(t, {"Low": "4"}) == [
        "Low=4 is greater than MaxSize 3: Auto Scaling rejects group Fleet with a minimum above its maximum; "
        "lower the minimum or raise the maximum"
    ]
    assert group_size_problems(t, {"Low": None}) == []  # kept from the deployed stack: not known here


# ---- capabilities ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"P": {"Type": "AWS::IAM::RolePolicy"}}, {"CAPABILITY_IAM": ["P"]}),
        ({"P": {"Type": "AWS::IAM::GroupPolicy"}}, {"CAPABILITY_IAM": ["P"]}),
        ({"P": {"Type": "AWS::IAM::UserPolicy"}}, {"CAPABILITY_IAM": ["P"]}),
        ({"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r"}}}, {"CAPABILITY_NAMED_IAM": ["R"]}),
    ],
)
def test_page_and_deployer_agree_on_capabilities(resources: dict[str, Any], expected: dict[str, Any]) -> None:
    doc = {"Resources": resources}
    assert required_capabilities(doc) == expected
    assert describe.capabilities(doc) == list(expected.items())
    with pytest.raises(BadInput, match=next(iter(expected))):
        check_capabilities(doc, [])


def test_named_iam_covers_unnamed_iam_on_the_page_too() -> None:
    doc = {
        "Resources": {
            "Policy": {"Type": "AWS::IAM::Policy"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r"}},
        }
    }
    assert describe.capabilities(doc) == [("CAPABILITY_NAMED_IAM", ["Policy", "Role"])]
    assert check_capabilities(doc, ["CAPABILITY_NAMED_IAM"]) == ["CAPABILITY_NAMED_IAM"]


# ---- one constant each ----------------------------------------------------------------------------------------


RESTATED = {
    "51,200-byte limit": re.compile(r"\b51_?200\b"),
    "1,000,000-byte limit": re.compile(r"\b1_?000_?000\b"),
    "500-resource limit": re.compile(r"[A-Z_]+ = 500\b"),
    "default region": re.compile(r"=\s*[\"']us-east-1[\"']"),
    "retaining policy names": re.compile(r"[\"']Retain(ExceptOnCreate)?[\"']"),
}
# Facts with a home of their own in cfnspec/: (pattern, the file that states it).
RESTATED_ELSEWHERE = {
    "quota codes": (re.compile(r"L-[0-9A-F]{8}"), "quotas.py"),
    # A list of types, or a table entry deciding one: cfnspec/resource_kinds.py is the one table of types.
    "stateful types": (
        re.compile(r"[\"']AWS::KMS::Key[\"'],\s*[\"']AWS::|\bstateful=(?:True|False)"),
        "resource_kinds.py",
    ),
    "IAM policy size limits": (re.compile(r"\b6_?144\b|\b10_?240\b"), "limits.py"),
}


def product_sources() -> list[Path]:
    return [
        ROOT / "generate.py",
        ROOT / "deploy.py",
        *ROOT.glob("generator/**/*.py"),
        *ROOT.glob("deployer/**/*.py"),
    ]


@pytest.mark.parametrize("fact", RESTATED)
def test_limits_region_and_retain_are_stated_once_in_cfnspec(fact: str) -> None:
    found = [str(p.relative_to(ROOT)) for p in product_sources() if RESTATED[fact].search(p.read_text())]
    assert found == [], f"{fact} restated outside cfnspec/limits.py"
    assert RESTATED[fact].search((ROOT / "cfnspec" / "limits.py").read_text())
    assert limits.INLINE_TEMPLATE_LIMIT < limits.S3_TEMPLATE_LIMIT


@pytest.mark.parametrize("fact", RESTATED_ELSEWHERE)
def test_quotas_stateful_types_and_policy_limits_are_stated_once_in_cfnspec(fact: str) -> None:
    pattern, home = RESTATED_ELSEWHERE[fact]
    found = [str(p.relative_to(ROOT)) for p in product_sources() if pattern.search(p.read_text())]
    assert found == [], f"{fact} restated outside cfnspec/{home}"
    assert pattern.search((ROOT / "cfnspec" / home).read_text())


# ---- stateful and retained: one definition ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "stateful", "left", "kept"),
    [
        ({"Type": "AWS::S3::Bucket"}, True, False, False),  # holds data, but a delete removes it
        ({"Type": "AWS::SNS::Topic", "DeletionPolicy": "Retain"}, True, True, True),
        ({"Type": "AWS::SNS::Topic", "DeletionPolicy": "RetainExceptOnCreate"}, True, True, True),
        # Snapshot: the resource is deleted, a snapshot of it stays.
        ({"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot"}, True, True, False),
        # UpdateReplacePolicy says the data is worth keeping, but a stack delete ignores it.
        ({"Type": "AWS::Logs::LogGroup", "UpdateReplacePolicy": "Retain"}, True, False, False),
        ({"Type": "AWS::SNS::Topic", "DeletionPolicy": "Delete"}, False, False, False),
    ],
)
def test_stateful_left_and_kept_on_delete(
    resource: dict[str, Any], stateful: bool, left: bool, kept: bool
) -> None:
    assert (is_stateful(resource), left_on_delete(resource), kept_on_delete(resource)) == (
        stateful,
        left,
        kept,
    )


def test_guard_page_leftovers_and_import_read_the_one_definition() -> None:
    """The guard's, the hand-off page's and the leftover check's copies disagreed on UpdateReplacePolicy and
    Snapshot; each now asks cfnspec.stateful."""
    import cfnspec.stateful
    import deployer.guard
    import deployer.importing
    import deployer.preflight.leftovers

    assert deployer.guard.why_stateful is cfnspec.stateful.why_stateful
    assert deployer.guard.STATEFUL_TYPES is cfnspec.stateful.STATEFUL_TYPES
    assert describe.left_on_delete is cfnspec.stateful.left_on_delete
    assert deployer.preflight.leftovers.kept_on_delete is cfnspec.stateful.kept_on_delete
    assert deployer.importing.kept_on_delete is cfnspec.stateful.kept_on_delete
    # The property that names a type: the page, the leftover check and the import had a table each.
    assert describe.NAME_PROPERTIES is cfnspec.stateful.NAME_PROPERTIES
    assert deployer.preflight.leftovers.NAME_PROPERTIES is cfnspec.stateful.NAME_PROPERTIES
    assert deployer.importing.NAME_PROPERTIES is cfnspec.stateful.NAME_PROPERTIES


def test_a_log_group_kept_only_on_replacement_is_not_adopted_after_a_delete() -> None:
    """A stack delete applies DeletionPolicy alone: the import of retained resources used to count
    UpdateReplacePolicy Retain too, and offered to adopt a log group the delete had removed."""
    from cfnspec.resolve import Scope
    from deployer.importing import _retained

    doc = {
        "Resources": {
            "Replaced": {"Type": "AWS::Logs::LogGroup", "UpdateReplacePolicy": "Retain"},
            "Kept": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate"},
        }
    }
    scope = Scope(parameters={}, pseudo={}, doc=doc)
    assert [logical_id for logical_id, _ in _retained(doc, scope)] == ["Kept"]


# ---- the hand-off page's counts use cfnspec.resolve ------------------------------------------------------------


def test_counts_at_the_defaults_follow_a_condition_over_a_mapping() -> None:
    """generator/defaults.py had an evaluator of its own that knew Ref and four condition functions only: a
    Condition over Fn::FindInMap stopped the page."""
    from generator import defaults

    doc = {
        "Parameters": {"Tier": {"Type": "String", "Default": "small"}},
        "Mappings": {"Tiers": {"small": {"Nat": "one"}, "large": {"Nat": "two"}}},
        "Conditions": {
            "TwoNats": {"Fn::Equals": [{"Fn::FindInMap": ["Tiers", {"Ref": "Tier"}, "Nat"]}, "two"]}
        },
        "Resources": {
            "NatA": {"Type": "AWS::EC2::NatGateway"},
            "NatB": {"Type": "AWS::EC2::NatGateway", "Condition": "TwoNats"},
        },
    }
    assert defaults.count(doc, "AWS::EC2::NatGateway", defaults.scope(doc)) == 1
    assert defaults.count(doc, "AWS::EC2::NatGateway", defaults.scope(doc, Tier="large")) == 2


def test_a_condition_the_defaults_cannot_decide_is_an_error_naming_it() -> None:
    from generator import defaults

    doc = {
        "Conditions": {"Named": {"Fn::Equals": [{"Ref": "AWS::StackName"}, "prod"]}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Condition": "Named"}},
    }
    with pytest.raises(ValueError, match="Condition 'Named' cannot be decided"):
        defaults.count(doc, "AWS::SNS::Topic", defaults.scope(doc))


# ---- stack tags: one rule --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        # generate.py accepted an empty value; CloudFormation's Tag takes 1 to 256 characters, as deploy.py said.
        ({"Owner": ""}, "values are 1 to 256 characters, this one has 0"),
        ({"aws:owner": "me"}, "the aws: prefix is reserved"),
        ({"k" * 129: "v"}, "keys are 1 to 128 characters"),
        ({f"T{i}": "v" for i in range(51)}, "51 tags given; a stack takes at most 50"),
    ],
)
def test_parameter_files_and_deploy_tags_refuse_the_same_tags(tags: dict[str, str], problem: str) -> None:
    template = one_parameter({"Type": "String", "Default": "x"})
    offline = generator.checks.validate_parameter_file(template, {"Parameters": {}, "Tags": tags})
    assert [p for p in offline if problem in p], offline
    with pytest.raises(BadInput, match=re.escape(problem)):
        deployer.inputs.validate_tags(tags)


def test_named_iam_covering_iam_is_one_rule_for_the_page_and_the_deployer() -> None:
    import cfnspec.capabilities
    import deployer.capabilities

    assert deployer.capabilities.acknowledged_by is cfnspec.capabilities.acknowledged_by
    assert describe.to_acknowledge is cfnspec.capabilities.to_acknowledge
    assert cfnspec.capabilities.acknowledged_by("CAPABILITY_IAM", ["CAPABILITY_NAMED_IAM"])
    assert not cfnspec.capabilities.acknowledged_by("CAPABILITY_NAMED_IAM", ["CAPABILITY_IAM"])
    assert not cfnspec.capabilities.acknowledged_by("CAPABILITY_AUTO_EXPAND", ["CAPABILITY_NAMED_IAM"])

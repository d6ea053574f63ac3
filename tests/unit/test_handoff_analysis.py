"""What the hand-off page and the parameter-file check derive from a template: components and rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator import describe
from generator.checks import check_rules, validate_parameter_file
from generator.examples import parameter_files
from templates import REGISTRY
from tests.template_helpers import stack_dict

NAMES = sorted(REGISTRY)


def test_components_come_from_tags_then_references_then_service() -> None:
    t = {
        "Resources": {
            "Vpc": {
                "Type": "AWS::EC2::VPC",
                "Properties": {"Tags": [{"Key": "Component", "Value": "network"}]},
            },
            "Route": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "Vpc"}}},
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"Tags": [{"Key": "Component", "Value": "ops"}]},
            },
            "Dashboard": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {"DashboardBody": {"Ref": "Vpc"}},
            },
            "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "Template": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {
                        "TagSpecifications": [{"Tags": [{"Key": "Component", "Value": "compute"}]}]
                    }
                },
            },
        }
    }
    assert describe.components(t) == {
        "cloudformation": ["Handle"],
        "compute": ["Template"],
        "network": ["Vpc", "Route"],
        "ops": ["Alarm", "Dashboard"],
    }


def tagged(rtype: str, component: str, **props: Any) -> dict[str, Any]:
    return {"Type": rtype, "Properties": {**props, "Tags": [{"Key": "Component", "Value": component}]}}


LISTENER = {
    "Type": "AWS::ElasticLoadBalancingV2::Listener",
    "Properties": {"LoadBalancerArn": {"Ref": "Alb"}},
}
ALB = tagged("AWS::ElasticLoadBalancingV2::LoadBalancer", "load-balancer")
GROUP = tagged("AWS::AutoScaling::AutoScalingGroup", "compute")
ROLES = {"RoleA": tagged("AWS::IAM::Role", "network"), "RoleB": tagged("AWS::IAM::Role", "security")}


@pytest.mark.parametrize(
    ("resources", "logical_id", "component"),
    [
        # A wait-condition handle whose Metadata names a listener belongs with the listener's load balancer.
        (
            {
                "Alb": ALB,
                "Listener": LISTENER,
                "Ready": {
                    "Type": "AWS::CloudFormation::WaitConditionHandle",
                    "Metadata": {"Waits": {"Fn::If": ["C", {"Ref": "Listener"}, {"Ref": "Alb"}]}},
                },
            },
            "Ready",
            "load-balancer",
        ),
        # A service-linked role with no references of its own belongs with the group that uses it, even
        # though IAM roles elsewhere belong to other components.
        (
            {
                **ROLES,
                "Slr": {"Type": "AWS::IAM::ServiceLinkedRole", "Properties": {}},
                "Group": {**GROUP, "Properties": {**GROUP["Properties"], "Role": {"Ref": "Slr"}}},
            },
            "Slr",
            "compute",
        ),
        # ... or with a resource that depends on it.
        (
            {"Slr": {"Type": "AWS::IAM::ServiceLinkedRole"}, "Group": {**GROUP, "DependsOn": "Slr"}},
            "Slr",
            "compute",
        ),
        # A Metadata hint names the component of a resource that cannot carry tags.
        (
            {
                "Alb": ALB,
                "Handle": {
                    "Type": "AWS::CloudFormation::WaitConditionHandle",
                    "Metadata": {"Component": "release", "Waits": {"Ref": "Alb"}},
                },
            },
            "Handle",
            "release",
        ),
        # A bucket policy goes with its bucket.
        (
            {
                "Bucket": tagged("AWS::S3::Bucket", "storage"),
                "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Bucket"}}},
            },
            "Policy",
            "storage",
        ),
        # Untagged resources that only reference each other fall back to their service's name.
        (
            {
                "A": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [{"Ref": "B"}]}},
                "B": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "A"}]}},
            },
            "A",
            "sns",
        ),
    ],
)
def test_untaggable_resources_join_the_component_they_belong_to(
    resources: dict[str, Any], logical_id: str, component: str
) -> None:
    groups = describe.components({"Resources": resources})
    assert logical_id in groups.get(component, []), groups


@pytest.mark.parametrize("name", NAMES)
def test_every_resource_is_grouped_under_a_component_the_template_declares(name: str) -> None:
    t = stack_dict(name)
    declared = {describe.declared_component(r) for r in t["Resources"].values()} - {None}
    groups = describe.components(t)
    assert set(groups) <= declared, {c: ids for c, ids in groups.items() if c not in declared}
    assert sorted(i for ids in groups.values() for i in ids) == sorted(t["Resources"])


RULE_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Min": {"Type": "Number", "Default": 2},
        "Max": {"Type": "Number", "Default": 5},
        "Mode": {"Type": "String", "Default": "a"},
        "Zones": {"Type": "CommaDelimitedList", "Default": "x,y"},
    },
}


@pytest.mark.parametrize(
    ("rule", "values", "holds"),
    [
        (
            {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Min"}, {"Ref": "Max"}]}]}}]},
            {},
            True,
        ),
        (
            {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Min"}, {"Ref": "Max"}]}]}}]},
            {"Max": "2"},
            False,
        ),
        # A rule whose RuleCondition does not hold is not applied.
        (
            {
                "RuleCondition": {"Fn::Equals": [{"Ref": "Mode"}, "b"]},
                "Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "Min"}, "9"]}}],
            },
            {},
            True,
        ),
        (
            {
                "RuleCondition": {"Fn::Equals": [{"Ref": "Mode"}, "b"]},
                "Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "Min"}, "9"]}}],
            },
            {"Mode": "b"},
            False,
        ),
        (
            {
                "Assertions": [
                    {
                        "Assert": {
                            "Fn::And": [
                                {"Fn::Equals": [{"Ref": "Mode"}, "a"]},
                                {
                                    "Fn::Or": [
                                        {"Fn::Equals": [{"Ref": "Min"}, "3"]},
                                        {"Fn::Equals": [{"Ref": "Max"}, "5"]},
                                    ]
                                },
                            ]
                        }
                    }
                ]
            },
            {},
            True,
        ),
        ({"Assertions": [{"Assert": {"Fn::Contains": [["2", "3"], {"Ref": "Min"}]}}]}, {"Min": "4"}, False),
        ({"Assertions": [{"Assert": {"Fn::EachMemberIn": [{"Ref": "Zones"}, ["x", "y", "z"]]}}]}, {}, True),
        ({"Assertions": [{"Assert": {"Fn::EachMemberEquals": [{"Ref": "Zones"}, "x"]}}]}, {}, False),
    ],
)
def test_rules_across_parameters_are_evaluated_offline(
    rule: dict[str, Any], values: dict[str, str], holds: bool
) -> None:
    rule["Assertions"][0]["AssertDescription"] = "the message"
    problems, unchecked = check_rules({**RULE_TEMPLATE, "Rules": {"R": rule}}, values)
    assert unchecked == []
    assert problems == ([] if holds else [problems[0]])
    if not holds:
        assert problems[0].startswith("rule R (") and problems[0].endswith("fails: the message")


def test_a_rule_that_needs_aws_is_reported_as_not_checkable() -> None:
    rule = {
        "Assertions": [{"Assert": {"Fn::Contains": [{"Fn::ValueOfAll": ["AWS::EC2::VPC::Id", "Tags"]}, "x"]}}]
    }
    problems, unchecked = check_rules({**RULE_TEMPLATE, "Rules": {"R": rule}}, {})
    assert problems == [] and len(unchecked) == 1 and unchecked[0].startswith("R: ")


@pytest.mark.parametrize("name", NAMES)
def test_every_rule_of_every_stack_is_checked_offline(name: str) -> None:
    assert check_rules(stack_dict(name), {})[1] == []


@pytest.mark.parametrize("name", NAMES)
def test_example_parameter_files_honour_the_rules(name: str) -> None:
    t = stack_dict(name)
    for file_name, content in parameter_files(name, t).items():
        problems, unchecked = check_rules(t, json.loads(content)["Parameters"])
        assert (problems, unchecked) == ([], []), file_name


def test_a_parameter_file_that_breaks_a_rule_fails_validation_with_its_message() -> None:
    t = stack_dict("tap-stack")
    data = json.loads(parameter_files("tap-stack", t)["tap-stack.prod.parameters.json"])
    data["Parameters"]["MaxSize"] = data["Parameters"]["MinSize"]
    rule = f"MaxSizeAboveMinSize{data['Parameters']['MinSize']}"
    problem, offline = validate_parameter_file(t, data)
    message = t["Rules"][rule]["Assertions"][0]["AssertDescription"]
    assert problem.startswith(f"rule {rule} (") and problem.endswith(f") fails: {message}")
    # cfnspec's offline size check (deploy.py's) refuses the same pair.
    assert offline.startswith(
        "MinSize=4 is not less than MaxSize=4: a rolling update of group AutoScalingGroup"
    )

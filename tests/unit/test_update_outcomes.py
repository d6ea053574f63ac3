"""cfnspec.update_outcomes: what changing each parameter does to a deployed stack, derived from the template, the
schemas' create-only properties and the short list of AWS facts."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from cfnspec import update_outcomes as uo
from cfnspec.update_outcomes import Outcome
from tests.template_helpers import stack_dict

EXPECTED = {
    "EnvironmentSuffix": Outcome.NEW_STACK,
    "VpcCidr": Outcome.NEW_STACK,
    "ProjectName": Outcome.ROLLS_INSTANCES,  # its tag is in the launch template data
    "CostCenter": Outcome.ROLLS_INSTANCES,
    "KmsKeyArn": Outcome.ROLLS_INSTANCES,
    "InstanceType": Outcome.ROLLS_INSTANCES,
    "ImageId": Outcome.ROLLS_INSTANCES,
    "AlarmEmail": Outcome.REPLACES,
}


@pytest.fixture
def outcomes() -> dict[str, uo.ParameterOutcome]:
    return uo.update_outcomes(stack_dict("tap-stack"))


def test_every_parameter_of_the_generated_stack_has_its_outcome(
    outcomes: dict[str, uo.ParameterOutcome],
) -> None:
    got = {p: o.outcome for p, o in outcomes.items()}
    assert set(got) == set(stack_dict("tap-stack")["Parameters"])
    assert got == {p: EXPECTED.get(p, Outcome.IN_PLACE) for p in got}


def test_a_new_vpc_replaces_the_subnets_route_tables_security_groups_and_target_group(
    outcomes: dict[str, uo.ParameterOutcome],
) -> None:
    replaced = set(outcomes["VpcCidr"].ids(uo.REPLACED))
    t = stack_dict("tap-stack")
    by_type = {
        rtype: {i for i, r in t["Resources"].items() if r["Type"] == rtype}
        for rtype in (
            "AWS::EC2::VPC",
            "AWS::EC2::Subnet",
            "AWS::EC2::RouteTable",
            "AWS::EC2::SecurityGroup",
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            "AWS::EC2::NatGateway",
        )
    }
    for rtype, ids in by_type.items():
        assert ids and ids <= replaced, rtype
    assert "LoadBalancer" not in replaced  # its Subnets are not create-only: AWS refuses the move instead


def test_a_new_vpc_fails_at_the_gateway_attachment_the_nat_gateways_and_the_load_balancer(
    outcomes: dict[str, uo.ParameterOutcome],
) -> None:
    failures = {e.logical_id: e.reason for e in outcomes["VpcCidr"].failures}
    assert set(failures) == {"InternetGatewayAttachment", "NatGatewayA", "NatGatewayB", "LoadBalancer"}
    assert "Resource.AlreadyAssociated" in failures["InternetGatewayAttachment"]
    assert "Elastic IP" in failures["NatGatewayA"]
    assert "cannot move to another VPC" in failures["LoadBalancer"]


def test_a_new_suffix_fails_at_the_listeners_and_leaves_the_retained_resources_behind(
    outcomes: dict[str, uo.ParameterOutcome],
) -> None:
    suffix = outcomes["EnvironmentSuffix"]
    assert {e.logical_id for e in suffix.failures} == {"HttpListener", "HttpsListener"}
    assert all("target group cannot belong to two load balancers" in e.reason for e in suffix.failures)
    kept = {
        e.logical_id for e in suffix.effects if e.action == uo.REPLACED and "UpdateReplacePolicy" in e.reason
    }
    assert kept == {
        "StaticContentBucket",
        "LogBucket",
        "FlowLogGroup",
        "ApplicationLogGroup",
        "AccessLogGroup",
    }


def test_a_target_group_renamed_with_the_load_balancer_lets_the_suffix_change_in_place() -> None:
    # Derived, not listed: with a target group that is replaced too, the listener fact no longer applies.
    t = stack_dict("tap-stack")
    t["Resources"]["TargetGroup"]["Properties"]["Name"] = {"Fn::Sub": "tap-${EnvironmentSuffix}-tg"}
    suffix = uo.outcome_of(t, "EnvironmentSuffix")
    assert suffix.failures == []
    assert suffix.outcome is Outcome.REPLACES


def _named_group_template() -> dict[str, Any]:
    return {
        "Parameters": {"Cidr": {"Type": "String"}, "Label": {"Type": "String"}},
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Ref": "Cidr"}}},
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "web",
                    "GroupName": {"Fn::Sub": "web-${Label}"},
                    "VpcId": {"Ref": "Vpc"},
                },
            },
        },
    }


def test_a_resource_replaced_under_its_unchanged_custom_name_fails() -> None:
    cidr = uo.outcome_of(_named_group_template(), "Cidr")
    assert [(e.logical_id, e.reason) for e in cidr.failures] == [("Group", uo.CUSTOM_NAME_REASON)]
    assert cidr.outcome is Outcome.NEW_STACK


def test_a_resource_replaced_under_a_new_custom_name_is_a_replacement() -> None:
    label = uo.outcome_of(_named_group_template(), "Label")
    assert label.failures == []
    assert label.ids(uo.REPLACED) == ["Group"]
    assert label.outcome is Outcome.REPLACES


def test_a_flow_logs_log_group_name_is_not_its_own_name() -> None:
    # The flow log is replaced with a new VPC; LogGroupName names another resource, so no custom-name failure.
    effects = uo.outcome_of(stack_dict("tap-stack"), "VpcCidr").effects
    assert ("VpcFlowLog", uo.REPLACED) in {(e.logical_id, e.action) for e in effects}
    assert "VpcFlowLog" not in {e.logical_id for e in effects if e.action == uo.FAILS}


def test_without_a_rolling_update_policy_a_new_launch_template_version_rolls_nothing() -> None:
    t = stack_dict("tap-stack")
    del t["Resources"]["AutoScalingGroup"]["UpdatePolicy"]
    instance_type = uo.outcome_of(t, "InstanceType")
    assert instance_type.outcome is Outcome.IN_PLACE
    assert instance_type.ids(uo.NEW_VERSION) == ["LaunchTemplate"]


def test_a_parameter_in_a_condition_adds_or_removes_its_resources(
    outcomes: dict[str, uo.ParameterOutcome],
) -> None:
    assert outcomes["NatGatewayMode"].ids(uo.ADDED_OR_REMOVED) == ["NatEipB", "NatGatewayB"]
    removed_key = next(e for e in outcomes["KmsKeyArn"].effects if e.logical_id == "KmsKey")
    assert "stays in the account" in removed_key.reason


def test_a_condition_nested_in_another_reaches_the_parameter() -> None:
    t: dict[str, Any] = {
        "Parameters": {"Mode": {"Type": "String"}},
        "Conditions": {
            "IsA": {"Fn::Equals": [{"Ref": "Mode"}, "a"]},
            "NotA": {"Fn::Not": [{"Condition": "IsA"}]},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Condition": "NotA"}},
    }
    assert uo.outcome_of(t, "Mode").ids(uo.ADDED_OR_REMOVED) == ["Topic"]


def test_a_sub_variable_of_its_own_is_not_a_reference() -> None:
    value = {"Fn::Sub": ["${Local}-${Param}-${Res.Arn}", {"Local": {"Ref": "Other"}}]}
    assert list(uo.references(value)) == [("Param", None), ("Res", "Arn"), ("Other", None)]


def test_the_names_derive_from_the_environment_suffix_alone() -> None:
    assert uo.name_parameters(stack_dict("tap-stack")) == ["EnvironmentSuffix"]


def test_outcomes_do_not_change_the_template() -> None:
    t = stack_dict("tap-stack")
    before = copy.deepcopy(t)
    uo.update_outcomes(t)
    assert t == before


def test_the_reference_names_exactly_the_parameters_whose_change_needs_a_new_stack(
    outcomes: dict[str, uo.ParameterOutcome],
) -> None:
    """docs/deploy.md names them by hand in prose; the computation is the authority, so the two must agree."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = docs.split(f"#### {uo.NEW_STACK_SECTION}\n", 1)[1].split("\n#", 1)[0]
    # The parameters the prose names before "refuse such a change" (what follows is about flags and files).
    named = set(re.findall(r"`([A-Za-z]+)`", section.split("refuse such a change", 1)[0]))
    parameters = set(stack_dict("tap-stack")["Parameters"])
    needs_new_stack = {p for p, o in outcomes.items() if o.outcome == Outcome.NEW_STACK}
    assert named & parameters == needs_new_stack

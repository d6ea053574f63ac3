"""The parts of preflight that need no AWS: the template facts, the printed report.

The key-policy evaluator preflight uses is tested in tests/unit/test_cfnspec_policy.py.
"""

from __future__ import annotations

import json

from deployer.preflight.facts import UNRESOLVED, StackFacts
from deployer.preflight.model import Finding, Report, Status
from deployer.preflight.runner import effective_parameters

ACCOUNT = "123456789012"


def facts(template: dict, **parameters: str) -> StackFacts:
    return StackFacts(
        template=template,
        parameters=parameters,
        region="eu-west-1",
        partition="aws",
        account_id=lambda: ACCOUNT,
        availability_zones=lambda: ["eu-west-1a", "eu-west-1b"],
    )


def test_the_resolver_evaluates_sub_if_select_and_getazs_and_leaves_attributes_unresolved() -> None:
    template = {
        "Conditions": {"Prod": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "B": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": {"Fn::Sub": "logs-${Env}-${AWS::AccountId}-${AWS::Region}"},
                    "Zone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
                    "Key": {"Fn::If": ["Prod", {"Fn::GetAtt": ["K", "Arn"]}, {"Ref": "KeyArn"}]},
                },
            },
            "P": {"Type": "AWS::S3::Bucket", "Condition": "Prod"},
        },
    }
    f = facts(template, Env="dev", KeyArn="arn:k")
    props = f.properties(f.resources["B"])
    assert f.resolve(props["BucketName"]) == f"logs-dev-{ACCOUNT}-eu-west-1"
    assert f.resolve(props["Zone"]) == "eu-west-1b"
    assert f.resolve(props["Key"]) == "arn:k"
    assert [lid for lid, _ in f.active()] == ["B"]
    prod = facts(template, Env="prod", KeyArn="")
    assert prod.resolve(props["Key"]) is UNRESOLVED
    assert [lid for lid, _ in prod.active()] == ["B", "P"]


def test_effective_parameters_are_given_then_deployed_then_default() -> None:
    template = {"Parameters": {"A": {"Default": "a"}, "B": {"Default": "b"}, "C": {"Default": 3}}}
    stack = {"Parameters": [{"ParameterKey": "B", "ParameterValue": "deployed"}]}
    assert effective_parameters(template, {"A": "given", "B": None}, stack) == {
        "A": "given",
        "B": "deployed",
        "C": "3",
    }


def test_the_report_prints_one_line_per_finding_with_its_fix_and_a_summary() -> None:
    report = Report(
        (
            Finding("kms-key", Status.PASS, "fine", fix="never shown"),
            Finding("bucket-names", Status.FAIL, "taken", fix="first\nsecond"),
        )
    )
    assert report.lines() == [
        "PASS  kms-key       fine",
        "FAIL  bucket-names  taken",
        "                    fix: first",
        "                         second",
        "Preflight: 1 PASS, 0 INFO, 0 WARN, 1 FAIL; problems found: the deployment would fail",
    ]
    assert json.loads(report.to_json())["failed"] is True
    assert not Report((Finding("x", Status.WARN, "w"),)).failed

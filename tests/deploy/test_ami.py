"""AMI drift: an SSM-typed image parameter resolves again on every update. The review compares DescribeStacks'
ResolvedValue with the SSM parameter now and shows a change as its own DANGER line; an unreadable parameter is a
warning. Stubber for the states moto cannot give (moto has no ResolvedValue), moto for the real SSM read."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from deployer.ami import IMAGE_PARAMETER, ami_changes
from deployer.errors import ExitCode
from deployer.output import make_reporter
from deployer.runtime import Context
from emulator.server import REGION, MotoServer
from tests.deploy.conftest import STACK, STACK_ID, Harness, stubbed_client

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
FLEET: dict[str, Any] = {
    "Parameters": {
        "ImageId": {"Type": IMAGE_PARAMETER, "Default": AL2023},
        "CpuAlarmThreshold": {"Type": "Number", "Default": "80"},
    },
    "Resources": {
        "LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {"LaunchTemplateData": {"ImageId": {"Ref": "ImageId"}}},
        },
        "Group": {
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "UpdatePolicy": {"AutoScalingRollingUpdate": {"MaxBatchSize": 1}},
            "Properties": {
                "MinSize": "1",
                "MaxSize": "2",
                "LaunchTemplate": {
                    "LaunchTemplateId": {"Ref": "LaunchTemplate"},
                    "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
                },
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Threshold": {"Ref": "CpuAlarmThreshold"},
                "ComparisonOperator": "GreaterThanThreshold",
            },
        },
    },
}


def _stack(resolved: str | None = "ami-0old") -> dict[str, Any]:
    image: dict[str, str] = {"ParameterKey": "ImageId", "ParameterValue": AL2023}
    if resolved:
        image["ResolvedValue"] = resolved
    return {
        "StackName": STACK,
        "StackId": STACK_ID,
        "Parameters": [image, {"ParameterKey": "CpuAlarmThreshold", "ParameterValue": "80"}],
    }


THRESHOLD_ONLY = [
    {"ParameterKey": "ImageId", "UsePreviousValue": True},
    {"ParameterKey": "CpuAlarmThreshold", "ParameterValue": "75"},
]


def _context(client: Any) -> tuple[Context, io.StringIO]:
    out = io.StringIO()
    ctx = Context(
        cfn=None,  # type: ignore[arg-type]
        s3=lambda: None,  # type: ignore[arg-type, return-value]
        reporter=make_reporter(out, False),
        pacer=None,  # type: ignore[arg-type]
        command=[],
        connection=[],
        client=lambda service: client,
    )
    return ctx, out


def _ssm_answers(value: str | None, name: str = AL2023) -> tuple[Any, Stubber]:
    ssm = stubbed_client("ssm")
    stub = Stubber(ssm)
    if value is None:
        stub.add_client_error("get_parameter", "AccessDeniedException", "not allowed", 400, {"Name": name})
    else:
        stub.add_response("get_parameter", {"Parameter": {"Name": name, "Value": value}}, {"Name": name})
    stub.activate()
    return ssm, stub


def test_a_newly_published_ami_is_a_danger_of_a_threshold_only_update() -> None:
    ssm, stub = _ssm_answers("ami-0new")
    ctx, _ = _context(ssm)
    changes = ami_changes(ctx, FLEET, _stack(), THRESHOLD_ONLY)
    stub.assert_no_pending_responses()
    assert [c.line() for c in changes] == [
        f"the AMI changes from ami-0old to ami-0new: the rolling update replaces every instance "
        f"(ImageId resolves {AL2023} again on this update)"
    ]


def test_the_same_ami_is_no_danger() -> None:
    ssm, stub = _ssm_answers("ami-0old")
    ctx, out = _context(ssm)
    assert ami_changes(ctx, FLEET, _stack(), THRESHOLD_ONLY) == []
    stub.assert_no_pending_responses()
    assert out.getvalue() == ""


def test_a_new_ssm_name_is_the_one_read() -> None:
    other = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"
    ssm, stub = _ssm_answers("ami-061", name=other)
    ctx, _ = _context(ssm)
    given = [{"ParameterKey": "ImageId", "ParameterValue": other}]
    assert [c.after for c in ami_changes(ctx, FLEET, _stack(), given)] == ["ami-061"]
    stub.assert_no_pending_responses()


def test_an_unreadable_ssm_parameter_is_a_warning_not_a_failure() -> None:
    ssm, stub = _ssm_answers(None)
    ctx, out = _context(ssm)
    assert ami_changes(ctx, FLEET, _stack(), THRESHOLD_ONLY) == []
    stub.assert_no_pending_responses()
    assert "WARNING: could not read SSM parameter" in out.getvalue()
    assert "AccessDeniedException" in out.getvalue()


@pytest.mark.parametrize("stack", [None, _stack(resolved=None)])
def test_nothing_is_read_without_a_resolved_value_to_compare(stack: dict[str, Any] | None) -> None:
    ssm = stubbed_client("ssm")
    Stubber(
        ssm
    ).activate()  # no answers: any SSM call fails the test (the Stubber's error is never a warning)
    ctx, out = _context(ssm)
    assert ami_changes(ctx, FLEET, stack, THRESHOLD_ONLY) == []
    assert out.getvalue() == ""


def test_the_emulators_public_ami_parameter_is_compared(moto: MotoServer) -> None:
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto.endpoint)
    published = ssm.get_parameter(Name=AL2023)["Parameter"]["Value"]
    ctx, _ = _context(ssm)
    assert ami_changes(ctx, FLEET, _stack(resolved=published), THRESHOLD_ONLY) == []
    changed = ami_changes(ctx, FLEET, _stack(resolved="ami-0launched"), THRESHOLD_ONLY)
    assert [(c.before, c.after) for c in changed] == [("ami-0launched", published)]


class SsmHarness(Harness):
    """The CLI harness with a Stubber-backed SSM client from the same factory as CloudFormation's."""

    def __init__(self, harness: Harness, ssm: Any) -> None:
        self.__dict__.update(harness.__dict__)
        self.ssm = ssm

    def client(self, service: str) -> Any:
        assert service == "ssm", service
        return self.ssm


def test_plan_shows_the_ami_change_as_its_own_danger_line(harness: Harness) -> None:
    ssm, stub = _ssm_answers("ami-0new")
    run = SsmHarness(harness, ssm)
    run.expect_stack("UPDATE_COMPLETE", Parameters=_stack()["Parameters"])
    run.expect_no_old_change_sets()
    run.expect_create_change_set("UPDATE")
    run.expect_change_set_status("CREATE_COMPLETE")
    run.expect_change_set_pages(
        [[{"Action": "Modify", "LogicalResourceId": "Alarm", "ResourceType": "AWS::CloudWatch::Alarm"}]]
    )
    template = run.template(FLEET, "fleet.json")
    code = run.run(
        "plan",
        "--stack-name",
        STACK,
        "--template-file",
        template,
        "--skip-preflight",
        "--parameter-overrides",
        "CpuAlarmThreshold=75",
    )
    stub.assert_no_pending_responses()
    assert code == ExitCode.CHANGES_PRESENT, run.errors
    assert (
        "  DANGER the AMI changes from ami-0old to ami-0new: the rolling update replaces every instance"
        in run.output
    )

"""Requirements 4 (compute) and 5 (scaling): launch template, Auto Scaling group, target tracking policies."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from troposphere import Template

from templates.compute import ROLLING_UPDATE_SUSPENDED, add_compute, autoscaling_service_role_arn
from templates.parameters import AMAZON_LINUX_2023_AMI, CREATE_AUTOSCALING_ROLE
from tests.template_helpers import assert_partial, props, resources_of_type
from tests.unit._web_tier_fakes import (
    ENCRYPTION,
    LOAD_BALANCER,
    NETWORK,
    SECURITY,
    cfn_substitute,
    lint_findings,
    sub_names,
    web_tier_dict,
)

COMPUTE_RESOURCES = {
    "LaunchTemplate",
    "AutoScalingGroup",
    "AutoScalingServiceLinkedRole",
    "CpuTargetTrackingPolicy",
    "RequestCountTargetTrackingPolicy",
}
METADATA = "169.254.169.254/latest/meta-data"
TOKEN_HEADER = 'X-aws-ec2-metadata-token: ${!TOKEN}"'


def _launch_data(tpl: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = props(tpl, "LaunchTemplate")["LaunchTemplateData"]
    return data


def _user_data(tpl: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The user data Sub pattern and its variables."""
    sub = _launch_data(tpl)["UserData"]["Fn::Base64"]["Fn::Sub"]
    return sub[0], sub[1]


def _agent_config(script: str) -> dict[str, Any]:
    match = re.search(r"amazon-cloudwatch-agent\.json <<'EOF'\n(.*?)\nEOF\n", script, re.S)
    assert match, "the user data writes no CloudWatch agent configuration"
    config: dict[str, Any] = json.loads(cfn_substitute(match.group(1)))
    return config


def _group(tpl: dict[str, Any]) -> dict[str, Any]:
    group: dict[str, Any] = tpl["Resources"]["AutoScalingGroup"]
    return group


def _keys_at_any_depth(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys_at_any_depth(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys_at_any_depth(v)}
    return set()


def test_ami_comes_from_the_amazon_linux_2023_ssm_parameter() -> None:
    tpl = web_tier_dict()
    param = tpl["Parameters"]["ImageId"]
    assert param["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert param["Default"] == AMAZON_LINUX_2023_AMI
    assert "al2023" in AMAZON_LINUX_2023_AMI and AMAZON_LINUX_2023_AMI.startswith("/aws/service/")
    assert _launch_data(tpl)["ImageId"] == {"Ref": "ImageId"}
    assert _launch_data(tpl)["InstanceType"] == {"Ref": "InstanceType"}


def test_imdsv2_required_with_hop_limit_1() -> None:
    assert _launch_data(web_tier_dict())["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
    }


def test_detailed_monitoring_on() -> None:
    assert _launch_data(web_tier_dict())["Monitoring"] == {"Enabled": True}


def test_no_public_ip_and_only_the_instance_security_group() -> None:
    data = _launch_data(web_tier_dict())
    assert "NetworkInterfaces" not in data, "a network interface block could request a public address"
    assert "AssociatePublicIpAddress" not in json.dumps(data)
    assert data["SecurityGroupIds"] == [SECURITY.instance_security_group.to_dict()]
    assert data["IamInstanceProfile"] == {"Name": SECURITY.instance_profile.to_dict()}


def test_root_volume_is_gp3_encrypted_with_the_stack_key() -> None:
    assert _launch_data(web_tier_dict())["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "VolumeType": "gp3",
                "VolumeSize": 20,
                "Encrypted": True,
                "KmsKeyId": ENCRYPTION.key_arn.to_dict(),
                "DeleteOnTermination": True,
            },
        }
    ]


def test_user_data_gets_an_imdsv2_token_before_any_metadata_read() -> None:
    script, _ = _user_data(web_tier_dict())
    lines = script.splitlines()
    token_lines = [i for i, line in enumerate(lines) if "169.254.169.254/latest/api/token" in line]
    metadata_lines = [i for i, line in enumerate(lines) if METADATA in line]
    assert len(token_lines) == 1 and metadata_lines, "expected one token request and metadata reads"
    assert "-X PUT" in lines[token_lines[0]]
    assert "X-aws-ec2-metadata-token-ttl-seconds" in lines[token_lines[0]]
    assert token_lines[0] < min(metadata_lines), "metadata is read before the token is requested"
    for i in metadata_lines:
        assert TOKEN_HEADER in lines[i], f"metadata read without the token: {lines[i]!r}"
    # The reads go through the helper defined after the token; nothing calls curl on the address directly.
    calls = [line for line in lines if "169.254.169.254" in line]
    assert len(calls) == 2


def test_user_data_installs_starts_and_checks_the_web_server_and_agent() -> None:
    script, _ = _user_data(web_tier_dict())
    assert script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in script
    assert re.search(r"dnf install -y nginx amazon-cloudwatch-agent aws-cfn-bootstrap", script)
    assert "systemctl enable --now nginx" in script
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s" in script
    assert "/usr/share/nginx/html/index.html" in script
    assert re.search(r"location = /health \{.*?return 200", script, re.S)
    # Success is signalled only after the health page answers locally; any error signals failure.
    assert script.index("curl -sSf -o /dev/null http://127.0.0.1/health") < script.index("signal 0")
    assert "trap 'signal 1' ERR" in script
    assert "--resource AutoScalingGroup" in script and "--stack ${AWS::StackName}" in script


def test_user_data_substitutes_only_what_cloudformation_knows() -> None:
    tpl = web_tier_dict()
    script, variables = _user_data(tpl)
    known = set(tpl["Parameters"]) | set(variables) | {"AWS::StackName", "AWS::Region"}
    assert sub_names(script) <= known, f"unknown Sub names: {sub_names(script) - known}"
    # Bash's own variables are escaped, so CloudFormation leaves them to bash.
    for bash_var in ("TOKEN", "INSTANCE_ID", "AZ"):
        assert "${" + bash_var + "}" not in script
        assert "${!" + bash_var + "}" in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_user_data_is_valid_bash_after_substitution() -> None:
    script, _ = _user_data(web_tier_dict())
    result = subprocess.run(["bash", "-n"], input=cfn_substitute(script), text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


def test_cloudwatch_agent_namespace_per_environment_and_logs_to_the_stack_log_groups() -> None:
    tpl = web_tier_dict()
    script, variables = _user_data(tpl)
    config = _agent_config(script)
    assert config["metrics"]["namespace"] == "TAP/sub-EnvironmentSuffix"
    assert config["metrics"]["append_dimensions"]["AutoScalingGroupName"] == "${aws:AutoScalingGroupName}"
    assert set(config["metrics"]["metrics_collected"]) == {"mem", "disk"}
    files = {
        f["file_path"]: f["log_group_name"] for f in config["logs"]["logs_collected"]["files"]["collect_list"]
    }
    assert files["/var/log/nginx/access.log"] == "sub-AccessLogGroupName"
    assert files["/var/log/nginx/error.log"] == "sub-ApplicationLogGroupName"
    assert variables == {
        "AccessLogGroupName": {"Ref": "AccessLogGroup"},
        "ApplicationLogGroupName": {"Ref": "ApplicationLogGroup"},
    }


def test_launch_template_tags_itself_and_what_it_launches() -> None:
    tpl = web_tier_dict()
    own = props(tpl, "LaunchTemplate")["TagSpecifications"]
    assert [spec["ResourceType"] for spec in own] == ["launch-template"]
    launched = _launch_data(tpl)["TagSpecifications"]
    assert [spec["ResourceType"] for spec in launched] == ["instance", "volume", "network-interface"]
    for spec in own + launched:
        tag_map = {tag["Key"]: tag["Value"] for tag in spec["Tags"]}
        assert set(tag_map) == {"Environment", "Component", "Project", "CostCenter"}
        assert tag_map["Component"] == "compute"


def test_group_size_defaults_2_5_2_from_parameters_that_keep_min_at_least_2() -> None:
    tpl = web_tier_dict()
    params = tpl["Parameters"]
    assert (
        params["MinSize"]["Default"],
        params["MaxSize"]["Default"],
        params["DesiredCapacity"]["Default"],
    ) == (
        2,
        5,
        2,
    )
    assert params["MinSize"]["MinValue"] >= 2
    assert params["DesiredCapacity"]["MinValue"] >= 2
    assert params["MaxSize"]["MinValue"] >= 2
    assert_partial(
        props(tpl, "AutoScalingGroup"),
        {
            "MinSize": {"Ref": "MinSize"},
            "MaxSize": {"Ref": "MaxSize"},
            "DesiredCapacity": {"Ref": "DesiredCapacity"},
        },
    )


def test_group_runs_in_the_private_subnets_of_two_explicit_azs() -> None:
    group = props(web_tier_dict(), "AutoScalingGroup")
    assert group["VPCZoneIdentifier"] == [s.to_dict() for s in NETWORK.private_subnets]
    assert group["AvailabilityZones"] == [az.to_dict() for az in NETWORK.availability_zones]
    assert len(group["AvailabilityZones"]) == 2


def test_group_uses_the_latest_launch_template_version_and_the_target_group() -> None:
    group = props(web_tier_dict(), "AutoScalingGroup")
    assert group["LaunchTemplate"] == {
        "LaunchTemplateId": {"Ref": "LaunchTemplate"},
        "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
    }
    assert group["TargetGroupARNs"] == [LOAD_BALANCER.target_group.to_dict()]


def test_group_uses_elb_health_checks_with_a_grace_period() -> None:
    group = props(web_tier_dict(), "AutoScalingGroup")
    assert group["HealthCheckType"] == "ELB"
    assert group["HealthCheckGracePeriod"] == 300
    assert group["MetricsCollection"] == [{"Granularity": "1Minute"}]


def test_rolling_update_replaces_one_instance_at_a_time_and_waits_for_signals() -> None:
    group = _group(web_tier_dict())
    assert group["UpdatePolicy"] == {
        "AutoScalingRollingUpdate": {
            "MinInstancesInService": {"Ref": "MinSize"},
            "MaxBatchSize": 1,
            "PauseTime": "PT15M",
            "WaitOnResourceSignals": True,
            "SuspendProcesses": list(ROLLING_UPDATE_SUSPENDED),
        }
    }
    for required in ("Launch", "Terminate", "AddToLoadBalancer"):
        assert required not in ROLLING_UPDATE_SUSPENDED
    assert group["CreationPolicy"] == {
        "ResourceSignal": {"Count": {"Ref": "DesiredCapacity"}, "Timeout": "PT15M"}
    }


def test_group_tags_propagate_to_instances() -> None:
    tags = props(web_tier_dict(), "AutoScalingGroup")["Tags"]
    assert {t["Key"] for t in tags} == {"Environment", "Component", "Project", "CostCenter"}
    assert all(t["PropagateAtLaunch"] is True for t in tags)
    assert {"Key": "Component", "Value": "compute", "PropagateAtLaunch": True} in tags


def test_service_linked_role_is_created_only_when_asked_and_the_group_uses_it() -> None:
    tpl = web_tier_dict()
    role = tpl["Resources"]["AutoScalingServiceLinkedRole"]
    assert role["Condition"] == CREATE_AUTOSCALING_ROLE
    assert role["Properties"]["AWSServiceName"] == "autoscaling.amazonaws.com"
    assert role["DeletionPolicy"] == "Retain"
    arn = props(tpl, "AutoScalingGroup")["ServiceLinkedRoleARN"]["Fn::If"]
    assert arn[0] == CREATE_AUTOSCALING_ROLE
    assert arn[1]["Fn::Sub"][1] == {"Role": {"Ref": "AutoScalingServiceLinkedRole"}}


def test_group_names_no_service_linked_role_the_account_may_not_have_yet() -> None:
    # Without ServiceLinkedRoleARN the group uses AWSServiceRoleForAutoScaling and EC2 Auto Scaling creates
    # that role when it is missing; naming its ARN instead fails the group in an account that never used Auto
    # Scaling, which is exactly the default deployment (CreateAutoScalingServiceLinkedRole false) there.
    arn = props(web_tier_dict(), "AutoScalingGroup")["ServiceLinkedRoleARN"]["Fn::If"]
    assert arn[2] == {"Ref": "AWS::NoValue"}


def test_service_role_arn_helper_adds_the_role_once() -> None:
    t = Template()
    first = autoscaling_service_role_arn(t).to_dict()
    assert autoscaling_service_role_arn(t).to_dict() == first
    assert list(t.resources) == ["AutoScalingServiceLinkedRole"]


def test_cpu_target_tracking_policy_defaults_to_70_percent() -> None:
    tpl = web_tier_dict()
    assert tpl["Parameters"]["CpuTargetUtilization"]["Default"] == 70
    assert_partial(
        props(tpl, "CpuTargetTrackingPolicy"),
        {
            "AutoScalingGroupName": {"Ref": "AutoScalingGroup"},
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                "TargetValue": {"Ref": "CpuTargetUtilization"},
            },
        },
    )


def test_request_count_resource_label_is_the_join_of_the_two_full_names() -> None:
    tpl = web_tier_dict()
    policy = tpl["Resources"]["RequestCountTargetTrackingPolicy"]
    spec = policy["Properties"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]
    assert spec == {
        "PredefinedMetricType": "ALBRequestCountPerTarget",
        "ResourceLabel": {
            "Fn::Join": [
                "/",
                [
                    {"Fn::GetAtt": ["FakeAlb", "LoadBalancerFullName"]},
                    {"Fn::GetAtt": ["FakeTargetGroup", "TargetGroupFullName"]},
                ],
            ]
        },
    }
    assert policy["Properties"]["TargetTrackingConfiguration"]["TargetValue"] == {"Ref": "RequestsPerTarget"}
    # The label is only valid once the target group is attached to the load balancer.
    assert policy["DependsOn"] == [LOAD_BALANCER.listeners_ready]


def test_scaling_policies_use_only_properties_target_tracking_accepts() -> None:
    policies = resources_of_type(web_tier_dict(), "AWS::AutoScaling::ScalingPolicy")
    assert set(policies) == {"CpuTargetTrackingPolicy", "RequestCountTargetTrackingPolicy"}
    allowed = {"AutoScalingGroupName", "PolicyType", "TargetTrackingConfiguration", "EstimatedInstanceWarmup"}
    for name, policy in policies.items():
        assert set(policy["Properties"]) <= allowed, f"{name}: {set(policy['Properties']) - allowed}"
        assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
        cooldowns = {k for k in _keys_at_any_depth(policy) if "cooldown" in k.lower()}
        assert not cooldowns, f"{name} has cooldown keys {cooldowns}"
        config = policy["Properties"]["TargetTrackingConfiguration"]
        assert set(config) <= {"PredefinedMetricSpecification", "TargetValue", "DisableScaleIn"}


def test_compute_resources_lint_clean() -> None:
    assert lint_findings(web_tier_dict(), COMPUTE_RESOURCES) == []


def test_add_compute_needs_only_a_template() -> None:
    tpl = Template()
    fleet = add_compute(tpl)
    assert fleet.auto_scaling_group.to_dict() == {"Ref": "AutoScalingGroup"}
    assert set(tpl.to_dict()["Resources"]) >= COMPUTE_RESOURCES

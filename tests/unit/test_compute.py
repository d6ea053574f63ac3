"""Requirements 4 (compute) and 5 (scaling): launch template, Auto Scaling group, target tracking policies."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from troposphere import Template

from cfnspec.parameters import check_value
from templates.compute import (
    INSTANCE_WARMUP_SECONDS,
    PACKAGE_ATTEMPT_SECONDS,
    PACKAGE_ATTEMPTS,
    PACKAGE_RETRY_PAUSE_SECONDS,
    ROLLING_UPDATE_SUSPENDED,
    USER_DATA,
    autoscaling_service_role_arn,
)
from templates.parameters import AMAZON_LINUX_2023_AMI, CREATE_AUTOSCALING_ROLE
from tests.template_helpers import assert_partial, props, resources_of_type
from tests.unit._web_tier_fakes import cfn_substitute, sub_names

KEY_ARN = {"Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KmsKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}

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


def test_ami_comes_from_the_amazon_linux_2023_ssm_parameter(tpl: dict[str, Any]) -> None:
    param = tpl["Parameters"]["ImageId"]
    assert param["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert param["Default"] == AMAZON_LINUX_2023_AMI
    assert "al2023" in AMAZON_LINUX_2023_AMI and AMAZON_LINUX_2023_AMI.startswith("/aws/service/")
    assert _launch_data(tpl)["ImageId"] == {"Ref": "ImageId"}
    assert _launch_data(tpl)["InstanceType"] == {"Ref": "InstanceType"}


# Graviton (arm64) families: a "g" right after the generation digit (t4g, m7g, c7gn, r8g, ...), and a1.
ARM64_FAMILY = re.compile(r"^([a-z]+\d+g[a-z]*|a1)$")


def test_only_x86_64_instance_types_that_the_x86_64_ami_boots_on(tpl: dict[str, Any]) -> None:
    """EC2 launches an AMI only on an instance type of the AMI's architecture; a mismatch fails every launch of
    the group, which CloudFormation only reports at the signal timeout. The AMI parameters are x86_64, so the
    instance types are x86_64 (AllowedValues, checked when the change set is made)."""
    spec = tpl["Parameters"]["InstanceType"]
    assert spec["Default"] in spec["AllowedValues"]
    for instance_type in spec["AllowedValues"]:
        assert not ARM64_FAMILY.match(instance_type.split(".")[0]), instance_type
    for arm in ("t4g.micro", "m7g.large", "c7gn.large", "a1.large"):
        assert ARM64_FAMILY.match(arm.split(".")[0])
        assert check_value("InstanceType", arm, spec), arm


def test_only_standard_amazon_linux_2023_x86_64_amis_which_carry_the_aws_cli(tpl: dict[str, Any]) -> None:
    """The boot script signals SUCCESS or FAILURE with the AWS CLI, which the standard AL2023 AMI has and the
    minimal AMI (al2023-ami-minimal-*) does not (Amazon Linux 2023 User Guide, "Comparing AL2023 standard
    and minimal AMIs"): on a minimal AMI no signal is sent and every launch waits out the timeout. For an SSM
    parameter type the AllowedValues constrain the parameter name given."""
    spec = tpl["Parameters"]["ImageId"]
    assert spec["Default"] == AMAZON_LINUX_2023_AMI and spec["Default"] in spec["AllowedValues"]
    for name in spec["AllowedValues"]:
        assert name.startswith("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-"), name
        assert name.endswith("-x86_64") and "minimal" not in name, name
    assert "minimal" in spec["Description"] and "AWS CLI" in spec["Description"]
    assert "aws cloudformation signal-resource" in USER_DATA
    for refused in (
        "/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-x86_64",
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    ):
        assert check_value("ImageId", refused, spec), refused


def test_imdsv2_required_with_hop_limit_1(tpl: dict[str, Any]) -> None:
    assert _launch_data(tpl)["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
    }


def test_detailed_monitoring_on(tpl: dict[str, Any]) -> None:
    assert _launch_data(tpl)["Monitoring"] == {"Enabled": True}


def test_no_public_ip_and_only_the_instance_security_group(tpl: dict[str, Any]) -> None:
    data = _launch_data(tpl)
    assert "NetworkInterfaces" not in data, "a network interface block could request a public address"
    assert "AssociatePublicIpAddress" not in json.dumps(data)
    assert data["SecurityGroupIds"] == [{"Ref": "InstanceSecurityGroup"}]
    assert data["IamInstanceProfile"] == {"Name": {"Ref": "InstanceProfile"}}


def test_root_volume_is_gp3_encrypted_with_the_stack_key(tpl: dict[str, Any]) -> None:
    assert _launch_data(tpl)["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "VolumeType": "gp3",
                "VolumeSize": 20,
                "Encrypted": True,
                "KmsKeyId": KEY_ARN,
                "DeleteOnTermination": True,
            },
        }
    ]


def test_user_data_gets_an_imdsv2_token_before_any_metadata_read(tpl: dict[str, Any]) -> None:
    script, _ = _user_data(tpl)
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


def test_user_data_installs_starts_and_checks_the_web_server_and_agent(tpl: dict[str, Any]) -> None:
    script, _ = _user_data(tpl)
    assert script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in script
    assert re.search(r"timeout \d+ dnf install -y nginx amazon-cloudwatch-agent", script)
    assert "systemctl enable --now nginx" in script
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s" in script
    assert "/usr/share/nginx/html/index.html" in script
    assert re.search(r"location = /health \{.*?return 200", script, re.S)
    # Success is signalled only after the health page answers locally; any error signals failure.
    health = re.search(r"curl [^\n]*-o /dev/null http://127.0.0.1/health", script)
    assert health and health.start() < script.index("signal SUCCESS")
    assert script.rstrip().endswith("signal SUCCESS")
    assert "trap on_exit EXIT" in script
    assert "--logical-resource-id AutoScalingGroup" in script and "--stack-name ${AWS::StackName}" in script


def test_user_data_substitutes_only_what_cloudformation_knows(tpl: dict[str, Any]) -> None:
    script, variables = _user_data(tpl)
    known = set(tpl["Parameters"]) | set(variables) | {"AWS::StackName", "AWS::Region"}
    assert sub_names(script) <= known, f"unknown Sub names: {sub_names(script) - known}"
    # Bash's own variables are escaped, so CloudFormation leaves them to bash.
    for bash_var in ("TOKEN", "INSTANCE_ID", "AZ"):
        assert "${" + bash_var + "}" not in script
        assert "${!" + bash_var + "}" in script


def test_user_data_is_valid_bash_after_substitution(tpl: dict[str, Any]) -> None:
    script, _ = _user_data(tpl)
    result = subprocess.run(["bash", "-n"], input=cfn_substitute(script), text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


def test_cloudwatch_agent_namespace_per_environment_and_logs_to_the_stack_log_groups(
    tpl: dict[str, Any],
) -> None:
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


def test_launch_template_tags_itself_and_what_it_launches(tpl: dict[str, Any]) -> None:
    own = props(tpl, "LaunchTemplate")["TagSpecifications"]
    assert [spec["ResourceType"] for spec in own] == ["launch-template"]
    launched = _launch_data(tpl)["TagSpecifications"]
    assert [spec["ResourceType"] for spec in launched] == ["instance", "volume", "network-interface"]
    for spec in own + launched:
        tag_map = {tag["Key"]: tag["Value"] for tag in spec["Tags"]}
        assert set(tag_map) == {"Environment", "Component", "Project", "CostCenter"}
        assert tag_map["Component"] == "compute"


def test_group_size_is_min_and_max_only_so_updates_never_reset_what_scaling_decided(
    tpl: dict[str, Any],
) -> None:
    params = tpl["Parameters"]
    assert (params["MinSize"]["Default"], params["MaxSize"]["Default"]) == ("2", "5")
    assert min(int(v) for v in params["MinSize"]["AllowedValues"]) >= 2
    # MinSize < MaxSize and MinSize >= 2: a MaxSize of 2 could never pass the rules.
    assert min(int(v) for v in params["MaxSize"]["AllowedValues"]) == 3
    assert "DesiredCapacity" not in params
    group = props(tpl, "AutoScalingGroup")
    assert_partial(group, {"MinSize": {"Ref": "MinSize"}, "MaxSize": {"Ref": "MaxSize"}})
    assert "DesiredCapacity" not in group, "a desired capacity resets the group's size on every update"


def test_group_runs_in_the_private_subnets_of_two_explicit_azs(tpl: dict[str, Any]) -> None:
    group = props(tpl, "AutoScalingGroup")
    assert group["VPCZoneIdentifier"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    zones = [props(tpl, s)["AvailabilityZone"] for s in ("PrivateSubnetA", "PrivateSubnetB")]
    assert group["AvailabilityZones"] == zones
    assert len(group["AvailabilityZones"]) == 2


def test_group_uses_the_latest_launch_template_version_and_the_target_group(tpl: dict[str, Any]) -> None:
    group = props(tpl, "AutoScalingGroup")
    assert group["LaunchTemplate"] == {
        "LaunchTemplateId": {"Ref": "LaunchTemplate"},
        "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
    }
    assert group["TargetGroupARNs"] == [{"Ref": "TargetGroup"}]


def test_group_uses_elb_health_checks_with_a_grace_period(tpl: dict[str, Any]) -> None:
    group = props(tpl, "AutoScalingGroup")
    assert group["HealthCheckType"] == "ELB"
    assert group["MetricsCollection"] == [{"Granularity": "1Minute"}]


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"PT(?:(\d+)M)?(?:(\d+)S)?", duration)
    assert match, duration
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_health_check_grace_covers_the_worst_case_boot_of_the_script(tpl: dict[str, Any]) -> None:
    # The worst case is read from the script itself: every package attempt runs to its timeout, with the
    # pauses between them, plus the time to boot before the script and to start the services after it.
    script, _ = _user_data(tpl)
    loop = re.search(
        r"for attempt in \$\(seq 1 (\d+)\); do\n  timeout (\d+) dnf .*?\n  sleep (\d+)\n", script, re.S
    )
    assert loop, "the package install loop is not where the grace period expects it"
    attempts, per_attempt, pause = (int(g) for g in loop.groups())
    assert (attempts, per_attempt, pause) == (
        PACKAGE_ATTEMPTS,
        PACKAGE_ATTEMPT_SECONDS,
        PACKAGE_RETRY_PAUSE_SECONDS,
    )
    installing = attempts * per_attempt + (attempts - 1) * pause
    group = _group(tpl)
    grace = group["Properties"]["HealthCheckGracePeriod"]
    assert grace >= installing + 2 * 60, f"grace {grace}s < install worst case {installing}s + boot and start"
    # The signal timeout is longer still, so only a lost instance ever times out.
    assert _seconds(group["CreationPolicy"]["ResourceSignal"]["Timeout"]) > grace
    assert _seconds(group["UpdatePolicy"]["AutoScalingRollingUpdate"]["PauseTime"]) > grace


_FAKE_TOOLS = {
    "curl": 'case "$*" in *api/token*) echo token ;; *instance-id*) echo i-0123456789abcdef0 ;; *) echo zone-a ;; esac',
    "dnf": 'echo dnf >> "$CALLS"; exit 1',
    "timeout": 'shift; exec "$@"',
    "sleep": 'echo "sleep $*" >> "$CALLS"',
    "aws": 'echo "aws $*" >> "$CALLS"',
}


@pytest.fixture
def run_boot_script(tmp_path: Path) -> Callable[[str], tuple[int, list[str]]]:
    """Runs a boot script with stand-ins for curl, dnf, timeout, sleep and aws; returns (exit code, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in _FAKE_TOOLS.items():
        path = bin_dir / tool
        path.write_text("#!/bin/bash\n" + body + "\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls"

    def run(script: str) -> tuple[int, list[str]]:
        env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls)}
        result = subprocess.run(["bash"], input=script, text=True, capture_output=True, env=env, timeout=60)
        return result.returncode, calls.read_text().splitlines() if calls.exists() else []

    return run


def test_a_failed_package_install_signals_failure_to_the_group_at_once(
    tpl: dict[str, Any], run_boot_script: Callable[[str], tuple[int, list[str]]]
) -> None:
    script, _ = _user_data(tpl)
    code, calls = run_boot_script(
        cfn_substitute(script, {"AWS::StackName": "tap-dev", "AWS::Region": "eu-west-1"})
    )
    assert code != 0
    assert calls.count("dnf") == PACKAGE_ATTEMPTS
    assert calls.count(f"sleep {PACKAGE_RETRY_PAUSE_SECONDS}") == PACKAGE_ATTEMPTS - 1
    signals = [c for c in calls if c.startswith("aws ")]
    assert signals == [
        "aws cloudformation signal-resource --region eu-west-1 --stack-name tap-dev "
        "--logical-resource-id AutoScalingGroup --unique-id i-0123456789abcdef0 --status FAILURE"
    ]


def test_rolling_update_replaces_one_instance_at_a_time_and_waits_for_signals(tpl: dict[str, Any]) -> None:
    group = _group(tpl)
    assert group["UpdatePolicy"] == {
        "AutoScalingRollingUpdate": {
            "MinInstancesInService": {"Ref": "MinSize"},
            "MaxBatchSize": 1,
            "PauseTime": "PT20M",
            "WaitOnResourceSignals": True,
            "SuspendProcesses": list(ROLLING_UPDATE_SUSPENDED),
        }
    }
    for required in ("Launch", "Terminate", "AddToLoadBalancer"):
        assert required not in ROLLING_UPDATE_SUSPENDED
    assert group["CreationPolicy"] == {"ResourceSignal": {"Count": {"Ref": "MinSize"}, "Timeout": "PT20M"}}


def test_group_tags_propagate_to_instances(tpl: dict[str, Any]) -> None:
    tags = props(tpl, "AutoScalingGroup")["Tags"]
    assert {t["Key"] for t in tags} == {"Environment", "Component", "Project", "CostCenter"}
    assert all(t["PropagateAtLaunch"] is True for t in tags)
    assert {"Key": "Component", "Value": "compute", "PropagateAtLaunch": True} in tags


def test_service_linked_role_is_created_only_when_asked_and_the_group_uses_it(tpl: dict[str, Any]) -> None:
    # The condition has a name of its own: a condition named like the parameter reads as the parameter.
    assert CREATE_AUTOSCALING_ROLE not in tpl["Parameters"]
    assert "CreateAutoScalingServiceLinkedRole" in tpl["Parameters"]
    role = tpl["Resources"]["AutoScalingServiceLinkedRole"]
    assert role["Condition"] == CREATE_AUTOSCALING_ROLE
    assert role["Properties"]["AWSServiceName"] == "autoscaling.amazonaws.com"
    assert role["DeletionPolicy"] == "Retain"
    arn = props(tpl, "AutoScalingGroup")["ServiceLinkedRoleARN"]["Fn::If"]
    assert arn[0] == CREATE_AUTOSCALING_ROLE
    assert arn[1]["Fn::Sub"][1] == {"Role": {"Ref": "AutoScalingServiceLinkedRole"}}


def test_group_names_no_service_linked_role_the_account_may_not_have_yet(tpl: dict[str, Any]) -> None:
    # Without ServiceLinkedRoleARN the group uses AWSServiceRoleForAutoScaling and EC2 Auto Scaling creates
    # that role when it is missing; naming its ARN instead fails the group in an account that never used Auto
    # Scaling, which is exactly the default deployment (CreateAutoScalingServiceLinkedRole false) there.
    arn = props(tpl, "AutoScalingGroup")["ServiceLinkedRoleARN"]["Fn::If"]
    assert arn[2] == {"Ref": "AWS::NoValue"}


def test_service_role_arn_helper_adds_the_role_once() -> None:
    t = Template()
    first = autoscaling_service_role_arn(t).to_dict()
    assert autoscaling_service_role_arn(t).to_dict() == first
    assert list(t.resources) == ["AutoScalingServiceLinkedRole"]


def test_cpu_target_tracking_policy_defaults_to_70_percent(tpl: dict[str, Any]) -> None:
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


def test_request_count_resource_label_is_the_join_of_the_two_full_names(tpl: dict[str, Any]) -> None:
    policy = tpl["Resources"]["RequestCountTargetTrackingPolicy"]
    spec = policy["Properties"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]
    assert spec == {
        "PredefinedMetricType": "ALBRequestCountPerTarget",
        "ResourceLabel": {
            "Fn::Join": [
                "/",
                [
                    {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]},
                    {"Fn::GetAtt": ["TargetGroup", "TargetGroupFullName"]},
                ],
            ]
        },
    }
    assert policy["Properties"]["TargetTrackingConfiguration"]["TargetValue"] == {"Ref": "RequestsPerTarget"}
    # The label is only valid once the target group is attached to the load balancer: the policy references
    # whichever listener forwards to the target group (DependsOn cannot name the conditional HTTPS one).
    assert "DependsOn" not in policy
    assert policy["Metadata"]["ForwardingListener"] == {
        "Fn::If": ["HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]
    }


def test_scaling_policies_use_only_properties_target_tracking_accepts(tpl: dict[str, Any]) -> None:
    policies = resources_of_type(tpl, "AWS::AutoScaling::ScalingPolicy")
    assert set(policies) == {"CpuTargetTrackingPolicy", "RequestCountTargetTrackingPolicy"}
    allowed = {"AutoScalingGroupName", "PolicyType", "TargetTrackingConfiguration", "EstimatedInstanceWarmup"}
    for name, policy in policies.items():
        assert set(policy["Properties"]) <= allowed, f"{name}: {set(policy['Properties']) - allowed}"
        assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
        cooldowns = {k for k in _keys_at_any_depth(policy) if "cooldown" in k.lower()}
        assert not cooldowns, f"{name} has cooldown keys {cooldowns}"
        config = policy["Properties"]["TargetTrackingConfiguration"]
        assert set(config) <= {"PredefinedMetricSpecification", "TargetValue", "DisableScaleIn"}


def test_compute_resources_lint_clean(lint_findings: Callable[[set[str]], list[str]]) -> None:
    assert lint_findings(COMPUTE_RESOURCES) == []


@pytest.mark.parametrize("policy", ["CpuTargetTrackingPolicy", "RequestCountTargetTrackingPolicy"])
def test_scaling_policies_wait_out_the_instance_warm_up(tpl: dict[str, Any], policy: str) -> None:
    # Without a warm-up, the metrics of instances still booting count at once and scaling overshoots.
    assert props(tpl, policy)["EstimatedInstanceWarmup"] == INSTANCE_WARMUP_SECONDS == 300

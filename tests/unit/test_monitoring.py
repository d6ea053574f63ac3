"""Requirement 8 (monitoring): log groups, the encrypted alarm topic, alarms and the dashboard."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from templates import naming
from templates.parameters import HAS_ALARM_EMAIL
from tests.template_helpers import props, resources_of_type
from tests.unit._web_tier_fakes import cfn_substitute, sub_names

KEY_ARN = {"Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KmsKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}

ALARMS = {
    "HighCpuAlarm",
    "HealthyHostsBelowMinimumAlarm",
    "LoadBalancer5xxAlarm",
    "Target5xxAlarm",
    "TargetResponseTimeAlarm",
}
LOG_GROUPS = {"ApplicationLogGroup", "AccessLogGroup"}
MONITORING_RESOURCES = (
    ALARMS | LOG_GROUPS | {"AlarmTopic", "AlarmTopicPolicy", "AlarmEmailSubscription", "Dashboard"}
)
ALB = {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]}
TARGET_GROUP = {"Fn::GetAtt": ["TargetGroup", "TargetGroupFullName"]}
TOPIC = {"Ref": "AlarmTopic"}


def _dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def _dashboard(tpl: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    body = props(tpl, "Dashboard")["DashboardBody"]["Fn::Sub"]
    return body[0], body[1]


def test_log_groups_have_retention_kms_and_survive_stack_deletion(tpl: dict[str, Any]) -> None:
    groups = {k: v for k, v in resources_of_type(tpl, "AWS::Logs::LogGroup").items() if k in LOG_GROUPS}
    assert set(groups) == LOG_GROUPS
    names = {k: g["Properties"]["LogGroupName"] for k, g in groups.items()}
    assert names == {
        "ApplicationLogGroup": {"Fn::Sub": naming.APP_LOG_GROUP},
        "AccessLogGroup": {"Fn::Sub": naming.ACCESS_LOG_GROUP},
    }
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["Properties"]["KmsKeyId"] == KEY_ARN
        # Deleted only when the create that made it rolls back, so its fixed name is free for the retry.
        assert group["DeletionPolicy"] == "RetainExceptOnCreate"
        assert group["UpdateReplacePolicy"] == "Retain"


def test_log_groups_exist_before_the_instances_that_write_to_them(tpl: dict[str, Any]) -> None:
    # The launch template (and so every instance) references the groups: CloudFormation creates them first
    # and the CloudWatch agent never has to create a group of its own, without retention or key.
    variables = props(tpl, "LaunchTemplate")["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][1]
    assert {v["Ref"] for v in variables.values()} == LOG_GROUPS


def test_alarm_topic_is_encrypted_with_the_stack_key(tpl: dict[str, Any]) -> None:
    topic = props(tpl, "AlarmTopic")
    assert topic["KmsMasterKeyId"] == KEY_ARN
    assert topic["TopicName"] == {"Fn::Sub": naming.ALARM_TOPIC}


def test_topic_policy_lets_cloudwatch_alarms_of_this_account_publish(tpl: dict[str, Any]) -> None:
    policy = props(tpl, "AlarmTopicPolicy")
    assert policy["Topics"] == [TOPIC]
    allow = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "AllowCloudWatchAlarmsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["sns:Publish"],
            "Resource": [TOPIC],
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]


def test_topic_policy_denies_publishing_without_tls(tpl: dict[str, Any]) -> None:
    statements = props(tpl, "AlarmTopicPolicy")["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert deny[0]["Principal"] == "*"
    assert deny[0]["Action"] == ["sns:Publish"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_email_subscription_only_when_an_address_is_given(tpl: dict[str, Any]) -> None:
    subscription = tpl["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == HAS_ALARM_EMAIL
    assert subscription["Properties"] == {
        "TopicArn": TOPIC,
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    assert tpl["Conditions"][HAS_ALARM_EMAIL] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert tpl["Parameters"]["AlarmEmail"]["Default"] == ""


def test_cpu_alarm_fires_above_80_percent_by_default_and_notifies_the_topic(tpl: dict[str, Any]) -> None:
    assert tpl["Parameters"]["CpuAlarmThreshold"]["Default"] == 80
    alarm = props(tpl, "HighCpuAlarm")
    assert alarm["Namespace"] == "AWS/EC2"
    assert alarm["MetricName"] == "CPUUtilization"
    assert _dimensions(alarm) == {"AutoScalingGroupName": {"Ref": "AutoScalingGroup"}}
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Average", 300, 2)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == {"Ref": "CpuAlarmThreshold"}
    assert alarm["AlarmActions"] == [TOPIC]


def test_every_alarm_notifies_the_topic_and_explains_itself(tpl: dict[str, Any]) -> None:
    alarms = resources_of_type(tpl, "AWS::CloudWatch::Alarm")
    assert set(alarms) == ALARMS
    for name, alarm in alarms.items():
        p = alarm["Properties"]
        assert p["AlarmActions"] == [TOPIC], name
        assert p["OKActions"] == [TOPIC], name
        assert p["AlarmDescription"], name
        assert p["TreatMissingData"] in {"missing", "notBreaching", "breaching", "ignore"}, name


def test_availability_alarm_fires_when_healthy_hosts_drop_below_min_size(tpl: dict[str, Any]) -> None:
    """HealthyHostCount (AWS/ApplicationELB, per TargetGroup and LoadBalancer: "the number of targets that are
    considered healthy") below MinSize for 3 minutes is the availability signal. A scale-out never lowers it
    and a rolling update keeps MinInstancesInService = MinSize in service, so neither pages, unlike the former
    UnHealthyHostCount > 0 alarm, which new targets trip while they pass their first health checks."""
    alarm = props(tpl, "HealthyHostsBelowMinimumAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApplicationELB", "HealthyHostCount")
    assert _dimensions(alarm) == {"TargetGroup": TARGET_GROUP, "LoadBalancer": ALB}
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Minimum",
        "LessThanThreshold",
        {"Ref": "MinSize"},
    )
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 3, 3)
    assert alarm["TreatMissingData"] == "breaching"
    rolling = tpl["Resources"]["AutoScalingGroup"]["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["MinInstancesInService"] == alarm["Threshold"]
    # Created after the group (whose creation waits for MinSize boot signals), so a first create does not page.
    assert "Group" in alarm["AlarmDescription"]["Fn::Sub"][1]


def test_no_alarm_pages_on_unhealthy_hosts_alone(tpl: dict[str, Any]) -> None:
    metrics = {
        a["Properties"]["MetricName"] for a in resources_of_type(tpl, "AWS::CloudWatch::Alarm").values()
    }
    assert "UnHealthyHostCount" not in metrics


def test_5xx_alarms_count_load_balancer_and_web_server_errors(tpl: dict[str, Any]) -> None:
    elb = props(tpl, "LoadBalancer5xxAlarm")
    assert (elb["Namespace"], elb["MetricName"], elb["Statistic"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_ELB_5XX_Count",
        "Sum",
    )
    assert _dimensions(elb) == {"LoadBalancer": ALB}
    target = props(tpl, "Target5xxAlarm")
    assert (target["MetricName"], target["Statistic"]) == ("HTTPCode_Target_5XX_Count", "Sum")
    assert _dimensions(target) == {"TargetGroup": TARGET_GROUP, "LoadBalancer": ALB}
    for alarm in (elb, target):
        # ALB count metrics have no datapoint for a minute without errors: missing must not alarm.
        assert alarm["TreatMissingData"] == "notBreaching"


def test_response_time_alarm_watches_the_p95_above_one_second(tpl: dict[str, Any]) -> None:
    alarm = props(tpl, "TargetResponseTimeAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApplicationELB", "TargetResponseTime")
    assert alarm["ExtendedStatistic"] == "p95"
    assert "Statistic" not in alarm
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 1)
    assert _dimensions(alarm) == {"LoadBalancer": ALB}


def test_dashboard_body_is_valid_json_after_substitution(tpl: dict[str, Any]) -> None:
    pattern, variables = _dashboard(tpl)
    known = set(variables) | set(tpl["Parameters"]) | {"AWS::Region"}
    assert sub_names(pattern) <= known, f"Sub would fail on {sub_names(pattern) - known}"
    body = json.loads(cfn_substitute(pattern))
    assert body["widgets"]
    assert props(tpl, "Dashboard")["DashboardName"] == {"Fn::Sub": naming.DASHBOARD}


def test_dashboard_name_differs_per_region_because_dashboard_names_are_account_wide(
    tpl: dict[str, Any],
) -> None:
    """CloudWatch dashboards are global: PutDashboard in any region replaces the account's dashboard of that
    name (CloudWatch User Guide, "Using Amazon CloudWatch dashboards": a dashboard is visible from every
    region), so the same environment deployed in two regions must name its dashboards apart."""
    name = props(tpl, "Dashboard")["DashboardName"]["Fn::Sub"]
    assert "${AWS::Region}" in name and "${EnvironmentSuffix}" in name
    assert naming.render(name, "prod", region="us-east-1") != naming.render(name, "prod", region="eu-west-1")


def test_dashboard_shows_the_group_the_load_balancer_and_every_alarm(tpl: dict[str, Any]) -> None:
    pattern, variables = _dashboard(tpl)
    assert variables["Group"] == {"Ref": "AutoScalingGroup"}
    assert variables["LoadBalancer"] == ALB
    assert variables["TargetGroup"] == TARGET_GROUP
    body = json.loads(cfn_substitute(pattern))
    metric_names = {
        metric[1] for w in body["widgets"] if w["type"] == "metric" for metric in w["properties"]["metrics"]
    }
    assert {
        "CPUUtilization",
        "RequestCount",
        "TargetResponseTime",
        "HTTPCode_ELB_5XX_Count",
        "HealthyHostCount",
        "UnHealthyHostCount",
        "mem_used_percent",
    } <= metric_names
    assert all(
        w["properties"]["region"] == "sub-AWS--Region" for w in body["widgets"] if w["type"] == "metric"
    )
    [alarm_widget] = [w for w in body["widgets"] if w["type"] == "alarm"]
    arn_variables = {name[len("sub-") :] for name in alarm_widget["properties"]["alarms"]}
    assert {variables[v]["Fn::GetAtt"][0] for v in arn_variables} == ALARMS


def test_dashboard_body_is_deterministic(tpl: dict[str, Any]) -> None:
    assert _dashboard(tpl) == _dashboard(tpl)


def test_monitoring_resources_carry_the_four_tags(tpl: dict[str, Any]) -> None:
    for name in ALARMS | LOG_GROUPS | {"AlarmTopic"}:
        tags = {t["Key"]: t["Value"] for t in props(tpl, name)["Tags"]}
        assert set(tags) == {"Environment", "Component", "Project", "CostCenter"}, name
        assert tags["Component"] == "monitoring", name


def test_monitoring_resources_lint_clean(lint_findings: Callable[[set[str]], list[str]]) -> None:
    assert lint_findings(MONITORING_RESOURCES) == []

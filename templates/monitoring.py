"""The alarm topic, CloudWatch alarms and the dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from awacs import sns as sns_actions
from awacs.aws import Allow, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, Template, cloudwatch, sns

from templates import naming
from templates.compute import Fleet
from templates.encryption import Encryption
from templates.load_balancer import LoadBalancer
from templates.parameters import HAS_ALARM_EMAIL, StackParameters
from templates.tags import tags

COMPONENT = "monitoring"

# Response time (seconds, p95) above which users notice the site is slow.
RESPONSE_TIME_THRESHOLD_SECONDS = 1
# 5XX responses per minute tolerated before someone is paged: a few errors during a deployment are normal.
ERRORS_PER_MINUTE_THRESHOLD = 10


@dataclass(frozen=True)
class Monitoring:
    alarm_topic: Ref


def add_monitoring(
    t: Template, p: StackParameters, enc: Encryption, lb: LoadBalancer, fleet: Fleet
) -> Monitoring:
    topic = _add_alarm_topic(t, p, enc)
    alarms = [
        _high_cpu_alarm(t, p, topic, fleet),
        _healthy_hosts_below_minimum_alarm(t, p, topic, lb, fleet),
        _elb_5xx_alarm(t, p, topic, lb),
        _target_5xx_alarm(t, p, topic, lb),
        _response_time_alarm(t, p, topic, lb),
    ]
    _add_dashboard(t, p, lb, fleet, alarms)
    return Monitoring(alarm_topic=topic)


def _add_alarm_topic(t: Template, p: StackParameters, enc: Encryption) -> Ref:
    topic = t.add_resource(
        sns.Topic(
            "AlarmTopic",
            TopicName=naming.name(naming.ALARM_TOPIC),
            DisplayName="TAP web alarms",
            KmsMasterKeyId=enc.key_arn,
            Tags=tags(p, COMPONENT),
        )
    )
    # CloudWatch alarms publish as the cloudwatch.amazonaws.com service principal; on an encrypted topic that
    # only works when the topic policy lets that principal publish (and the key policy lets it use the key).
    t.add_resource(
        sns.TopicPolicy(
            "AlarmTopicPolicy",
            Topics=[Ref(topic)],
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="AllowCloudWatchAlarmsOfThisAccount",
                        Effect=Allow,
                        Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                        Action=[sns_actions.Publish],
                        Resource=[Ref(topic)],
                        Condition=Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))),
                    ),
                    Statement(
                        Sid="DenyPublishWithoutTls",
                        Effect=Deny,
                        Principal=Principal("*"),
                        Action=[sns_actions.Publish],
                        Resource=[Ref(topic)],
                        Condition=Condition(Bool("aws:SecureTransport", "false")),
                    ),
                ],
            ),
        )
    )
    t.add_resource(
        sns.SubscriptionResource(
            "AlarmEmailSubscription",
            Condition=HAS_ALARM_EMAIL,
            TopicArn=Ref(topic),
            Protocol="email",
            Endpoint=p.alarm_email,
        )
    )
    return Ref(topic)


def _alarm(t: Template, p: StackParameters, title: str, topic: Ref, **props: Any) -> cloudwatch.Alarm:
    """An alarm that notifies the topic both when it fires and when it recovers."""
    return t.add_resource(
        cloudwatch.Alarm(title, AlarmActions=[topic], OKActions=[topic], Tags=tags(p, COMPONENT), **props)
    )


def _high_cpu_alarm(t: Template, p: StackParameters, topic: Ref, fleet: Fleet) -> cloudwatch.Alarm:
    return _alarm(
        t,
        p,
        "HighCpuAlarm",
        topic,
        AlarmDescription=Sub(
            "Average CPU of the web servers in ${Group} above ${Threshold}% for 10 minutes: the scaling "
            "policies are not keeping up (group at MaxSize?) or a process is spinning.",
            Group=fleet.auto_scaling_group,
            Threshold=p.cpu_alarm_threshold,
        ),
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[cloudwatch.MetricDimension(Name="AutoScalingGroupName", Value=fleet.auto_scaling_group)],
        Statistic="Average",
        Period=300,
        EvaluationPeriods=2,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=p.cpu_alarm_threshold,
        # No datapoints means no running instances, which says nothing about CPU: let the alarm show
        # INSUFFICIENT_DATA rather than pretend to be OK or in alarm.
        TreatMissingData="missing",
    )


def _target_group_dimensions(lb: LoadBalancer) -> list[cloudwatch.MetricDimension]:
    return [
        cloudwatch.MetricDimension(Name="TargetGroup", Value=lb.target_group_full_name),
        cloudwatch.MetricDimension(Name="LoadBalancer", Value=lb.full_name),
    ]


def _healthy_hosts_below_minimum_alarm(
    t: Template, p: StackParameters, topic: Ref, lb: LoadBalancer, fleet: Fleet
) -> cloudwatch.Alarm:
    # The availability signal: fewer healthy web servers than MinSize, the capacity the stack promises. Scaling
    # out and rolling updates never take the group below MinSize (the rolling update keeps MinSize in service),
    # so neither pages; a lost zone, failing health checks or instances that cannot boot do. It replaces an
    # alarm on UnHealthyHostCount > 0, which fired on every scale-out and rolling update (a new target counts
    # as unhealthy until it passes its first health checks) while saying nothing about the capacity left; the
    # dashboard still graphs both counts.
    return _alarm(
        t,
        p,
        "HealthyHostsBelowMinimumAlarm",
        topic,
        # The group in the description also makes the alarm wait for the group's creation (its instances have
        # signalled), so a first create does not page while its instances boot.
        AlarmDescription=Sub(
            "Fewer than ${MinSize} (MinSize) healthy web servers behind the load balancer for 3 minutes: the "
            "site runs below the capacity it is sized for. Check ${Group}'s activity history and the targets' "
            "health.",
            MinSize=p.min_size,
            Group=fleet.auto_scaling_group,
        ),
        Namespace="AWS/ApplicationELB",
        MetricName="HealthyHostCount",
        Dimensions=_target_group_dimensions(lb),
        Statistic="Minimum",
        Period=60,
        EvaluationPeriods=3,
        DatapointsToAlarm=3,
        ComparisonOperator="LessThanThreshold",
        Threshold=p.min_size,
        # No datapoint means the load balancer reports no healthy target at all: treat it as an outage.
        TreatMissingData="breaching",
    )


def _elb_5xx_alarm(t: Template, p: StackParameters, topic: Ref, lb: LoadBalancer) -> cloudwatch.Alarm:
    return _alarm(
        t,
        p,
        "LoadBalancer5xxAlarm",
        topic,
        AlarmDescription=(
            f"The load balancer itself answered more than {ERRORS_PER_MINUTE_THRESHOLD} 5XX responses a "
            "minute in 3 of the last 5 minutes (502/503/504: no healthy target, or targets dropping "
            "connections)."
        ),
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_ELB_5XX_Count",
        Dimensions=[cloudwatch.MetricDimension(Name="LoadBalancer", Value=lb.full_name)],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=5,
        DatapointsToAlarm=3,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=ERRORS_PER_MINUTE_THRESHOLD,
        # Count metrics are only published for minutes that had such responses: missing means zero.
        TreatMissingData="notBreaching",
    )


def _target_5xx_alarm(t: Template, p: StackParameters, topic: Ref, lb: LoadBalancer) -> cloudwatch.Alarm:
    return _alarm(
        t,
        p,
        "Target5xxAlarm",
        topic,
        AlarmDescription=(
            f"The web servers answered more than {ERRORS_PER_MINUTE_THRESHOLD} 5XX responses a minute in 3 "
            "of the last 5 minutes (application errors)."
        ),
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=_target_group_dimensions(lb),
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=5,
        DatapointsToAlarm=3,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=ERRORS_PER_MINUTE_THRESHOLD,
        TreatMissingData="notBreaching",  # published only for minutes that had such responses
    )


def _response_time_alarm(t: Template, p: StackParameters, topic: Ref, lb: LoadBalancer) -> cloudwatch.Alarm:
    return _alarm(
        t,
        p,
        "TargetResponseTimeAlarm",
        topic,
        AlarmDescription=(
            "95th percentile of the web servers' response time above "
            f"{RESPONSE_TIME_THRESHOLD_SECONDS} second in 3 of the last 5 minutes."
        ),
        Namespace="AWS/ApplicationELB",
        MetricName="TargetResponseTime",
        Dimensions=[cloudwatch.MetricDimension(Name="LoadBalancer", Value=lb.full_name)],
        # p95 rather than Average: a slow tail that users feel hides in the average.
        ExtendedStatistic="p95",
        Period=60,
        EvaluationPeriods=5,
        DatapointsToAlarm=3,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=RESPONSE_TIME_THRESHOLD_SECONDS,
        TreatMissingData="notBreaching",  # no requests in a minute gives no datapoint, and nothing was slow
    )


def dashboard_body(alarm_variables: list[str]) -> str:
    """The dashboard JSON as a Sub pattern.

    Every `${...}` in it is a Sub variable on purpose: ${AWS::Region}, ${EnvironmentSuffix} (in the agent's
    metrics namespace), ${Group},
    ${LoadBalancer}, ${TargetGroup} and one variable per alarm ARN. Nothing else in the body may contain `${`.
    """
    region = "${AWS::Region}"
    elb = "AWS/ApplicationELB"
    group_dim = ["AutoScalingGroupName", "${Group}"]
    lb_dim = ["LoadBalancer", "${LoadBalancer}"]
    tg_dims = ["TargetGroup", "${TargetGroup}", *lb_dim]

    def metric_widget(x: int, y: int, title: str, metrics: list[list[Any]], stat: str) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "metrics": metrics,
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
            },
        }

    widgets = [
        metric_widget(
            0,
            0,
            "Web servers: CPU, memory and disk (%)",
            [
                ["AWS/EC2", "CPUUtilization", *group_dim, {"label": "CPU"}],
                [naming.METRICS_NAMESPACE, "mem_used_percent", *group_dim, {"label": "Memory"}],
                [naming.METRICS_NAMESPACE, "disk_used_percent", *group_dim, {"label": "Disk /"}],
            ],
            "Average",
        ),
        metric_widget(12, 0, "Requests", [[elb, "RequestCount", *lb_dim]], "Sum"),
        metric_widget(
            0,
            6,
            "Target response time (seconds)",
            [
                [elb, "TargetResponseTime", *lb_dim, {"stat": "p95", "label": "p95"}],
                [elb, "TargetResponseTime", *lb_dim, {"stat": "Average", "label": "average"}],
            ],
            "p95",
        ),
        metric_widget(
            12,
            6,
            "5XX responses",
            [
                [elb, "HTTPCode_ELB_5XX_Count", *lb_dim, {"label": "load balancer"}],
                [elb, "HTTPCode_Target_5XX_Count", *tg_dims, {"label": "web servers"}],
            ],
            "Sum",
        ),
        metric_widget(
            0,
            12,
            "Healthy and unhealthy hosts",
            [
                [elb, "HealthyHostCount", *tg_dims, {"stat": "Minimum", "label": "healthy"}],
                [elb, "UnHealthyHostCount", *tg_dims, {"stat": "Maximum", "label": "unhealthy"}],
            ],
            "Maximum",
        ),
        {
            "type": "alarm",
            "x": 12,
            "y": 12,
            "width": 12,
            "height": 6,
            "properties": {"title": "Alarms", "alarms": ["${" + name + "}" for name in alarm_variables]},
        },
    ]
    # sort_keys and fixed separators: the same code gives the same bytes.
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


def _add_dashboard(
    t: Template, p: StackParameters, lb: LoadBalancer, fleet: Fleet, alarms: list[cloudwatch.Alarm]
) -> None:
    alarm_arns = {f"{alarm.title}Arn": GetAtt(alarm, "Arn") for alarm in alarms}
    t.add_resource(
        cloudwatch.Dashboard(
            "Dashboard",
            DashboardName=naming.name(naming.DASHBOARD),
            DashboardBody=Sub(
                dashboard_body(list(alarm_arns)),
                {
                    "Group": fleet.auto_scaling_group,
                    "LoadBalancer": lb.full_name,
                    "TargetGroup": lb.target_group_full_name,
                    **alarm_arns,
                },
            ),
            Tags=tags(p, COMPONENT),
        )
    )

"""Launch template, Auto Scaling group across two Availability Zones, and target tracking scaling policies."""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import Base64, GetAtt, If, Join, NoValue, Ref, Sub, Template, autoscaling, ec2, iam
from troposphere.policies import AutoScalingRollingUpdate, CreationPolicy, ResourceSignal, UpdatePolicy

from templates import naming
from templates.load_balancer import HEALTH_CHECK_PATH, LoadBalancer, add_load_balancer
from templates.monitoring import LogGroups, add_log_groups
from templates.network import Network, add_network
from templates.parameters import CREATE_AUTOSCALING_ROLE, StackParameters, add_parameters
from templates.security import Encryption, Security, add_encryption, add_security
from templates.tags import asg_tags, tags

COMPONENT = "compute"
ASG_TITLE = "AutoScalingGroup"  # cfn-signal in the user data names this logical id
ROOT_VOLUME_GIB = 20
# Seconds a new instance needs to boot, install packages and serve: the health-check grace period and the
# scaling policies' warm-up, so neither ELB checks nor metrics judge an instance that is still starting.
INSTANCE_WARMUP_SECONDS = 300
# How long one instance may take to signal, at creation and per batch of a rolling update.
SIGNAL_TIMEOUT = "PT15M"
# Processes suspended during a rolling update, as AWS recommends: a health-check replacement, an AZ rebalance,
# a scaling alarm or a scheduled action changing the group mid-update leaves CloudFormation with a wrong view
# of it and fails the update. Launch, Terminate and AddToLoadBalancer stay on: the update itself needs them.
ROLLING_UPDATE_SUSPENDED = (
    "HealthCheck",
    "ReplaceUnhealthy",
    "AZRebalance",
    "AlarmNotification",
    "ScheduledActions",
)
AUTOSCALING_ROLE_PATH = (
    "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/autoscaling.amazonaws.com"
)
SERVICE_ROLE_TITLE = "AutoScalingServiceLinkedRole"
RETAIN = "Retain"
AGENT_CONFIG_PATH = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"


@dataclass(frozen=True)
class Fleet:
    auto_scaling_group: Ref
    launch_template: Ref


def cloudwatch_agent_config() -> str:
    """The CloudWatch agent's configuration, as text for a Sub pattern.

    `${!aws:...}` are the agent's own placeholders (Sub turns `${!x}` into `${x}`); `${AccessLogGroupName}`,
    `${ApplicationLogGroupName}` and the namespace's `${EnvironmentSuffix}` are filled in by CloudFormation.
    """
    config = {
        "agent": {"metrics_collection_interval": 60, "run_as_user": "root"},
        "metrics": {
            "namespace": naming.METRICS_NAMESPACE,
            "append_dimensions": {
                "AutoScalingGroupName": "${!aws:AutoScalingGroupName}",
                "InstanceId": "${!aws:InstanceId}",
            },
            # Also publish each metric per group only, which the dashboard graphs.
            "aggregation_dimensions": [["AutoScalingGroupName"]],
            "metrics_collected": {
                "mem": {"measurement": ["mem_used_percent"]},
                "disk": {"measurement": ["used_percent"], "resources": ["/"], "drop_device": True},
            },
        },
        "logs": {
            "logs_collected": {
                "files": {
                    "collect_list": [
                        {
                            "file_path": "/var/log/nginx/access.log",
                            "log_group_name": "${AccessLogGroupName}",
                            "log_stream_name": "{instance_id}",
                        },
                        {
                            "file_path": "/var/log/nginx/error.log",
                            "log_group_name": "${ApplicationLogGroupName}",
                            "log_stream_name": "{instance_id}/nginx-error",
                        },
                        {
                            "file_path": "/var/log/cloud-init-output.log",
                            "log_group_name": "${ApplicationLogGroupName}",
                            "log_stream_name": "{instance_id}/bootstrap",
                        },
                    ]
                }
            }
        },
    }
    return json.dumps(config, indent=2, sort_keys=True)


# Bash inside a Sub pattern: `${!VAR}` reaches bash as `${VAR}`; `${AWS::...}`, `${EnvironmentSuffix}` and
# the *LogGroupName variables are CloudFormation's. A quoted heredoc delimiter keeps bash from expanding them.
USER_DATA = f"""#!/bin/bash
# Bootstraps one web server. Any failure signals CloudFormation at once, so a broken launch fails the
# create or the rolling update quickly instead of waiting for the signal timeout.
set -euo pipefail

signal() {{
  /opt/aws/bin/cfn-signal -e "$1" --stack ${{AWS::StackName}} --resource {ASG_TITLE} \\
    --region ${{AWS::Region}} || true
}}
trap 'signal 1' ERR

# IMDSv2 only (HttpTokens required): every metadata read carries a session token.
TOKEN=$(curl -sSf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" http://169.254.169.254/latest/api/token)
imds() {{
  curl -sSf -H "X-aws-ec2-metadata-token: ${{!TOKEN}}" "http://169.254.169.254/latest/meta-data/$1"
}}
INSTANCE_ID=$(imds instance-id)
AZ=$(imds placement/availability-zone)

# Packages come through the NAT gateway, which may still be starting when the first instances boot.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  dnf install -y nginx amazon-cloudwatch-agent aws-cfn-bootstrap && break
  [ "$attempt" -lt 10 ]
  sleep 30
done

cat > /usr/share/nginx/html/index.html <<EOF
<!doctype html>
<html><head><title>TAP web application</title></head>
<body><h1>TAP web application (${{EnvironmentSuffix}})</h1>
<p>Served by ${{!INSTANCE_ID}} in ${{!AZ}}.</p></body></html>
EOF

# The load balancer's health check; kept out of the access log so the log shows only real traffic.
cat > /etc/nginx/default.d/health.conf <<'EOF'
location = {HEALTH_CHECK_PATH} {{
    access_log off;
    default_type text/plain;
    return 200 "ok\\n";
}}
EOF

cat > {AGENT_CONFIG_PATH} <<'EOF'
{cloudwatch_agent_config()}
EOF

systemctl enable --now nginx
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \\
  -c file:{AGENT_CONFIG_PATH}

# Report success only once the page the load balancer checks is actually served.
curl -sSf -o /dev/null http://127.0.0.1{HEALTH_CHECK_PATH}
signal 0
"""


def add_compute(
    t: Template,
    p: StackParameters | None = None,
    net: Network | None = None,
    enc: Encryption | None = None,
    sec: Security | None = None,
    lb: LoadBalancer | None = None,
    logs: LogGroups | None = None,
) -> Fleet:
    p = p or add_parameters(t)
    enc = enc or add_encryption(t, p)
    net = net or add_network(t, p, enc)
    sec = sec or add_security(t, p, net, enc)
    lb = lb or add_load_balancer(t, p, net, sec)
    logs = logs or add_log_groups(t, p, enc)

    launch_template = _add_launch_template(t, p, enc, sec, logs)
    group = _add_auto_scaling_group(t, p, net, lb, launch_template)
    _add_scaling_policies(t, p, lb, group)
    return Fleet(auto_scaling_group=group, launch_template=Ref(launch_template))


def _add_launch_template(
    t: Template, p: StackParameters, enc: Encryption, sec: Security, logs: LogGroups
) -> ec2.LaunchTemplate:
    tag_specs = [
        ec2.TagSpecifications(ResourceType=kind, Tags=tags(p, COMPONENT))
        for kind in ("instance", "volume", "network-interface")
    ]
    return t.add_resource(
        ec2.LaunchTemplate(
            "LaunchTemplate",
            LaunchTemplateName=naming.name(naming.LAUNCH_TEMPLATE),
            TagSpecifications=[
                ec2.TagSpecifications(ResourceType="launch-template", Tags=tags(p, COMPONENT))
            ],
            LaunchTemplateData=ec2.LaunchTemplateData(
                ImageId=p.image_id,
                InstanceType=p.instance_type,
                IamInstanceProfile=ec2.IamInstanceProfile(Name=sec.instance_profile),
                # No NetworkInterfaces block, so no public address is requested; the private subnets have
                # MapPublicIpOnLaunch false and no route to the internet gateway.
                SecurityGroupIds=[sec.instance_security_group],
                MetadataOptions=ec2.MetadataOptions(
                    HttpEndpoint="enabled",
                    HttpTokens="required",
                    # 1 hop: the token cannot leave the instance (e.g. into a container with its own network).
                    HttpPutResponseHopLimit=1,
                ),
                Monitoring=ec2.Monitoring(Enabled=True),
                BlockDeviceMappings=[
                    ec2.LaunchTemplateBlockDeviceMapping(
                        DeviceName="/dev/xvda",  # the AL2023 root device
                        Ebs=ec2.EBSBlockDevice(
                            VolumeType="gp3",
                            VolumeSize=ROOT_VOLUME_GIB,
                            Encrypted=True,
                            KmsKeyId=enc.key_arn,
                            DeleteOnTermination=True,
                        ),
                    )
                ],
                TagSpecifications=tag_specs,
                UserData=Base64(
                    Sub(USER_DATA, AccessLogGroupName=logs.access, ApplicationLogGroupName=logs.application)
                ),
            ),
        )
    )


def autoscaling_service_role_arn(t: Template) -> If:
    """The Auto Scaling group's ServiceLinkedRoleARN, adding the resource that creates the role when asked.

    Creating: the ARN references the role resource, so CloudFormation creates the group after the role.
    Otherwise no value: a group without ServiceLinkedRoleARN uses AWSServiceRoleForAutoScaling and EC2 Auto
    Scaling creates that role if the account does not have it yet, whereas naming its ARN fails the group in
    such an account. Safe to call more than once.
    """
    role = t.resources.get(SERVICE_ROLE_TITLE)
    if role is None:
        role = t.add_resource(
            iam.ServiceLinkedRole(
                SERVICE_ROLE_TITLE,
                Condition=CREATE_AUTOSCALING_ROLE,
                AWSServiceName="autoscaling.amazonaws.com",
                Description="Lets EC2 Auto Scaling launch and manage instances (one per account).",
                # The role is shared by every Auto Scaling group in the account: deleting this stack must not
                # try to delete it from under the others.
                DeletionPolicy=RETAIN,
                UpdateReplacePolicy=RETAIN,
            )
        )
    return If(CREATE_AUTOSCALING_ROLE, Sub(AUTOSCALING_ROLE_PATH + "/${Role}", Role=Ref(role)), NoValue)


def _add_auto_scaling_group(
    t: Template, p: StackParameters, net: Network, lb: LoadBalancer, launch_template: ec2.LaunchTemplate
) -> Ref:
    group = t.add_resource(
        autoscaling.AutoScalingGroup(
            ASG_TITLE,
            # Instances install packages at boot through the NAT gateways: wait for the private routes.
            **({"DependsOn": list(net.egress_ready)} if net.egress_ready else {}),
            AutoScalingGroupName=naming.name(naming.AUTO_SCALING_GROUP),
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(launch_template),
                Version=GetAtt(launch_template, "LatestVersionNumber"),
            ),
            MinSize=p.min_size,
            MaxSize=p.max_size,
            DesiredCapacity=p.desired_capacity,
            VPCZoneIdentifier=list(net.private_subnets),
            AvailabilityZones=list(net.availability_zones),
            TargetGroupARNs=[lb.target_group],
            HealthCheckType="ELB",
            HealthCheckGracePeriod=INSTANCE_WARMUP_SECONDS,
            MetricsCollection=[autoscaling.MetricsCollection(Granularity="1Minute")],
            ServiceLinkedRoleARN=autoscaling_service_role_arn(t),
            Tags=asg_tags(p, COMPONENT),
            CreationPolicy=CreationPolicy(
                ResourceSignal=ResourceSignal(Count=p.desired_capacity, Timeout=SIGNAL_TIMEOUT)
            ),
            UpdatePolicy=UpdatePolicy(
                AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                    # Keep MinSize (>= 2, one per AZ) in service throughout: with the default 2/5/2,
                    # CloudFormation first launches a third instance, waits for its signal, then retires an
                    # old one, so a deployment never halves capacity. MinInstancesInService must be below
                    # MaxSize, so rolling updates need MaxSize > MinSize.
                    MinInstancesInService=p.min_size,
                    MaxBatchSize=1,
                    PauseTime=SIGNAL_TIMEOUT,
                    WaitOnResourceSignals=True,
                    SuspendProcesses=list(ROLLING_UPDATE_SUSPENDED),
                )
            ),
        )
    )
    return Ref(group)


def _add_scaling_policies(t: Template, p: StackParameters, lb: LoadBalancer, group: Ref) -> None:
    # Target tracking takes no Cooldown (SimpleScaling only) and no scale-in/out cooldowns (those exist only
    # in Application Auto Scaling): the instance warm-up is the one timing setting it accepts.
    t.add_resource(
        autoscaling.ScalingPolicy(
            "CpuTargetTrackingPolicy",
            AutoScalingGroupName=group,
            PolicyType="TargetTrackingScaling",
            EstimatedInstanceWarmup=INSTANCE_WARMUP_SECONDS,
            TargetTrackingConfiguration=autoscaling.TargetTrackingConfiguration(
                PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ASGAverageCPUUtilization"
                ),
                TargetValue=p.cpu_target_utilization,
            ),
        )
    )
    t.add_resource(
        autoscaling.ScalingPolicy(
            "RequestCountTargetTrackingPolicy",
            # The resource label is only accepted once the target group is attached to the load balancer.
            DependsOn=[lb.listeners_ready],
            AutoScalingGroupName=group,
            PolicyType="TargetTrackingScaling",
            EstimatedInstanceWarmup=INSTANCE_WARMUP_SECONDS,
            TargetTrackingConfiguration=autoscaling.TargetTrackingConfiguration(
                PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ALBRequestCountPerTarget",
                    # app/<alb-name>/<id>/targetgroup/<tg-name>/<id>
                    ResourceLabel=Join("/", [lb.full_name, lb.target_group_full_name]),
                ),
                TargetValue=p.requests_per_target,
            ),
        )
    )

"""Launch template, Auto Scaling group across two Availability Zones, and target tracking scaling policies."""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import Base64, GetAtt, If, Join, NoValue, Ref, Sub, Template, autoscaling, ec2, iam
from troposphere.policies import AutoScalingRollingUpdate, CreationPolicy, ResourceSignal, UpdatePolicy

from templates import naming
from templates.encryption import Encryption
from templates.lifecycle import RETAIN
from templates.load_balancer import HEALTH_CHECK_PATH, LoadBalancer
from templates.log_groups import LogGroups
from templates.network import Network
from templates.parameters import CREATE_AUTOSCALING_ROLE, StackParameters
from templates.security import Security
from templates.tags import asg_tags, tags

COMPONENT = "compute"
ASG_TITLE = "AutoScalingGroup"  # the boot script signals this logical id
ROOT_VOLUME_GIB = 20
# Seconds a new instance typically needs to boot, install packages and serve: the scaling policies' warm-up,
# so metrics of an instance that is still starting do not drive scaling.
INSTANCE_WARMUP_SECONDS = 300
# The boot script's package install: attempts, the limit on each, and the pause between them (the NAT gateway
# may still be starting when the first instances boot).
PACKAGE_ATTEMPTS = 5
PACKAGE_ATTEMPT_SECONDS = 120
PACKAGE_RETRY_PAUSE_SECONDS = 30
# From launch until the script starts, and from the install until the health page answers.
OS_BOOT_SECONDS = 120
SERVICE_START_SECONDS = 120
# The longest a boot can take before it signals: the health-check grace period, so ELB health checks never
# replace an instance that is still booting.
WORST_CASE_BOOT_SECONDS = (
    OS_BOOT_SECONDS
    + PACKAGE_ATTEMPTS * PACKAGE_ATTEMPT_SECONDS
    + (PACKAGE_ATTEMPTS - 1) * PACKAGE_RETRY_PAUSE_SECONDS
    + SERVICE_START_SECONDS
)
# How long one instance may take to signal, at creation and per batch of a rolling update: longer than the
# worst-case boot, so only a lost instance times out (a failed boot signals FAILURE at once).
SIGNAL_TIMEOUT = "PT20M"
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
# Bootstraps one web server. Every exit reports to CloudFormation: a failure at any step signals FAILURE from
# the EXIT trap, so a broken launch fails the create or the rolling update at once instead of waiting for the
# signal timeout. The AWS CLI sends the signal: it is on the Amazon Linux 2023 image, cfn-signal is not.
set -euo pipefail

# IMDSv2 only (HttpTokens required): every metadata read carries a session token.
TOKEN=$(curl -sSf --retry 5 --retry-connrefused -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 900" http://169.254.169.254/latest/api/token)
imds() {{
  curl -sSf -H "X-aws-ec2-metadata-token: ${{!TOKEN}}" "http://169.254.169.254/latest/meta-data/$1"
}}
INSTANCE_ID=$(imds instance-id)
AZ=$(imds placement/availability-zone)

signal() {{
  aws cloudformation signal-resource --region ${{AWS::Region}} --stack-name ${{AWS::StackName}} \\
    --logical-resource-id {ASG_TITLE} --unique-id "${{!INSTANCE_ID}}" --status "$1" || true
}}
on_exit() {{
  status=$?
  if [ "$status" -ne 0 ]; then
    signal FAILURE
  fi
}}
trap on_exit EXIT

for attempt in $(seq 1 {PACKAGE_ATTEMPTS}); do
  timeout {PACKAGE_ATTEMPT_SECONDS} dnf install -y nginx amazon-cloudwatch-agent && break
  [ "$attempt" -lt {PACKAGE_ATTEMPTS} ]
  sleep {PACKAGE_RETRY_PAUSE_SECONDS}
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
curl -sSf --retry 5 --retry-connrefused -o /dev/null http://127.0.0.1{HEALTH_CHECK_PATH}
signal SUCCESS
"""


def add_compute(
    t: Template,
    p: StackParameters,
    net: Network,
    enc: Encryption,
    sec: Security,
    lb: LoadBalancer,
    logs: LogGroups,
) -> Fleet:
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
            # No DesiredCapacity: the group starts at MinSize and the scaling policies own the size. A value
            # here would reset it on every stack update (AWS's advice for groups with scaling policies).
            MinSize=p.min_size,
            MaxSize=p.max_size,
            VPCZoneIdentifier=list(net.private_subnets),
            AvailabilityZones=list(net.availability_zones),
            TargetGroupARNs=[lb.target_group],
            HealthCheckType="ELB",
            HealthCheckGracePeriod=WORST_CASE_BOOT_SECONDS,
            MetricsCollection=[autoscaling.MetricsCollection(Granularity="1Minute")],
            ServiceLinkedRoleARN=autoscaling_service_role_arn(t),
            Tags=asg_tags(p, COMPONENT),
            CreationPolicy=CreationPolicy(
                ResourceSignal=ResourceSignal(Count=p.min_size, Timeout=SIGNAL_TIMEOUT)
            ),
            UpdatePolicy=UpdatePolicy(
                AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                    # Keep MinSize (>= 2, one per AZ) in service throughout: with the default 2/5,
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
            # The resource label is only accepted once the target group is attached to the load balancer. DependsOn
            # cannot name the conditional HTTPS listener, so the Ref of the forwarding listener in Metadata makes
            # the dependency. It sits on the policy, which an update of CertificateArn may change in place, not
            # on a WaitConditionHandle, which CloudFormation cannot update.
            Metadata={"ForwardingListener": lb.forwarding_listener},
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

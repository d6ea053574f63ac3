"""The web-application stack: every component composed in the order data flows between them."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Export, Join, Output, Sub, Template

from templates.compute import Fleet, add_compute
from templates.encryption import Encryption, add_encryption
from templates.load_balancer import LoadBalancer, add_load_balancer
from templates.log_groups import LogGroups, add_log_groups
from templates.monitoring import Monitoring, add_monitoring
from templates.network import Network, add_network
from templates.parameters import StackParameters, add_parameters
from templates.security import Security, add_security
from templates.storage import Storage, add_storage

DESCRIPTION = (
    "Highly available web application: VPC across two Availability Zones, internet-facing ALB, "
    "Auto Scaling web servers (IMDSv2, KMS-encrypted EBS), S3 static content behind CloudFront, alarms and dashboard."
)


@dataclass(frozen=True)
class TapStack:
    """The template and what each component returned, as wired together."""

    template: Template
    parameters: StackParameters
    encryption: Encryption
    network: Network
    security: Security
    storage: Storage
    load_balancer: LoadBalancer
    log_groups: LogGroups
    fleet: Fleet
    monitoring: Monitoring


def compose_tap_stack() -> TapStack:
    t = Template(Description=DESCRIPTION)
    t.set_version("2010-09-09")
    p = add_parameters(t)
    enc = add_encryption(t, p)
    net = add_network(t, p, enc)
    logs = add_log_groups(t, p, enc)
    sec = add_security(t, p, net, logs)
    site = add_storage(t, p, enc)
    lb = add_load_balancer(t, p, net, sec, site)
    fleet = add_compute(t, p, net, enc, sec, lb, logs)
    alerts = add_monitoring(t, p, enc, lb, fleet)
    add_outputs(t, enc, net, site, lb, fleet, alerts)
    return TapStack(t, p, enc, net, sec, site, lb, logs, fleet, alerts)


def build_tap_stack() -> Template:
    return compose_tap_stack().template


def _output(t: Template, name: str, value: object, description: str) -> None:
    t.add_output(
        Output(name, Description=description, Value=value, Export=Export(Sub("${AWS::StackName}-" + name)))
    )


def add_outputs(
    t: Template,
    enc: Encryption,
    net: Network,
    site: Storage,
    lb: LoadBalancer,
    fleet: Fleet,
    alerts: Monitoring,
) -> None:
    _output(t, "VpcId", net.vpc, "ID of the VPC")
    _output(
        t, "PublicSubnetIds", Join(",", list(net.public_subnets)), "Comma-separated IDs of the public subnets"
    )
    _output(
        t,
        "PrivateSubnetIds",
        Join(",", list(net.private_subnets)),
        "Comma-separated IDs of the private subnets",
    )
    _output(t, "LoadBalancerDnsName", lb.dns_name, "DNS name of the Application Load Balancer")
    _output(
        t, "LoadBalancerUrl", lb.url, "URL of the web application (https when a certificate is configured)"
    )
    _output(
        t, "CloudFrontDomainName", site.distribution_domain_name, "Domain name serving the static content"
    )
    _output(t, "StaticContentBucketName", site.static_bucket, "Name of the static-content bucket")
    _output(
        t, "AutoScalingGroupName", fleet.auto_scaling_group, "Name of the web servers' Auto Scaling group"
    )
    _output(t, "AlarmTopicArn", alerts.alarm_topic, "ARN of the SNS topic that alarms notify")
    _output(t, "KmsKeyArn", enc.key_arn, "ARN of the KMS key that encrypts the stack's data")

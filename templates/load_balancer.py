"""Internet-facing Application Load Balancer, target group, listeners (HTTPS when a certificate is given)."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import AWSHelperFn, GetAtt, If, Ref, Sub, Template
from troposphere import elasticloadbalancingv2 as elbv2

from templates import naming
from templates.network import Network
from templates.parameters import HAS_CERTIFICATE, StackParameters
from templates.security import Security
from templates.storage import ALB_LOG_PREFIX, Storage
from templates.tags import tags

COMPONENT = "load-balancer"

# TLS 1.3 and 1.2 only, forward-secret ciphers (Elastic Load Balancing's recommended policy).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HEALTH_CHECK_PATH = "/health"
PLAIN_HTTP_REASON = (
    "With a CertificateArn this listener only redirects to HTTPS (301) and HTTPS uses a TLS 1.2+ policy. "
    "Without one, plain HTTP on port 80 is the documented, parameter-chosen mode: there is no certificate "
    "to terminate TLS with. The checks cannot see through the Fn::If that chooses between the two."
)


@dataclass(frozen=True)
class LoadBalancer:
    load_balancer: Ref
    dns_name: GetAtt
    url: AWSHelperFn
    full_name: GetAtt  # LoadBalancerFullName, e.g. app/tap-dev-alb/50dc6c495c0c9188
    target_group: Ref
    target_group_full_name: GetAtt  # TargetGroupFullName, e.g. targetgroup/tap-dev-web/73e2d6bc24d8a067
    # Ref of whichever listener forwards to the target group: a resource that references it is created only
    # once the target group is attached to the load balancer.
    forwarding_listener: If


def _add_alb(
    t: Template, p: StackParameters, net: Network, sec: Security, site: Storage
) -> elbv2.LoadBalancer:
    alb = elbv2.LoadBalancer(
        "LoadBalancer",
        Name=naming.name(naming.LOAD_BALANCER),
        Type="application",
        Scheme="internet-facing",
        IpAddressType="ipv4",
        Subnets=list(net.public_subnets),
        SecurityGroups=[sec.alb_security_group],
        LoadBalancerAttributes=[
            elbv2.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
            elbv2.LoadBalancerAttributes(Key="routing.http.desync_mitigation_mode", Value="defensive"),
            elbv2.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
            elbv2.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=site.log_bucket),
            elbv2.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=ALB_LOG_PREFIX),
            elbv2.LoadBalancerAttributes(Key="deletion_protection.enabled", Value=p.alb_deletion_protection),
        ],
        Tags=tags(p, COMPONENT),
        # Enabling access logs makes ELB write a test object, which fails until the bucket policy exists.
        DependsOn=[site.log_bucket_policy],
    )
    return t.add_resource(alb)


def _add_target_group(t: Template, p: StackParameters, net: Network) -> elbv2.TargetGroup:
    return t.add_resource(
        elbv2.TargetGroup(
            "TargetGroup",
            # No Name: the group is replaced whenever its VPC is (a VpcCidr change), and CloudFormation cannot
            # replace a resource under the same custom name. Its Name tag says whose it is.
            Port=80,
            Protocol="HTTP",
            ProtocolVersion="HTTP1",
            TargetType="instance",
            VpcId=net.vpc,
            HealthCheckEnabled=True,
            HealthCheckProtocol="HTTP",
            HealthCheckPort="traffic-port",
            HealthCheckPath=HEALTH_CHECK_PATH,
            Matcher=elbv2.Matcher(HttpCode="200"),
            HealthCheckIntervalSeconds=15,
            HealthCheckTimeoutSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=3,
            TargetGroupAttributes=[
                # Shorter than the 300 s default so rolling instance refreshes finish sooner; requests to the
                # web servers are short-lived.
                elbv2.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30"),
                elbv2.TargetGroupAttribute(Key="stickiness.enabled", Value="false"),
            ],
            Tags=tags(p, COMPONENT, Name=naming.name(naming.TARGET_GROUP)),
        )
    )


def _forward(target_group: elbv2.TargetGroup) -> elbv2.Action:
    return elbv2.Action(Type="forward", TargetGroupArn=Ref(target_group))


def _redirect_to_https() -> elbv2.Action:
    return elbv2.Action(
        Type="redirect",
        RedirectConfig=elbv2.RedirectConfig(
            Protocol="HTTPS",
            Port="443",
            Host="#{host}",
            Path="/#{path}",
            Query="#{query}",
            StatusCode="HTTP_301",
        ),
    )


def _add_listeners(
    t: Template, p: StackParameters, alb: elbv2.LoadBalancer, target_group: elbv2.TargetGroup
) -> tuple[elbv2.Listener, elbv2.Listener]:
    http = t.add_resource(
        elbv2.Listener(
            "HttpListener",
            LoadBalancerArn=Ref(alb),
            Port=80,
            Protocol="HTTP",
            DefaultActions=[If(HAS_CERTIFICATE, _redirect_to_https(), _forward(target_group))],
            Tags=tags(p, COMPONENT),
            Metadata={
                "checkov": {
                    "skip": [
                        {"id": check, "comment": PLAIN_HTTP_REASON} for check in ("CKV_AWS_2", "CKV_AWS_103")
                    ]
                }
            },
        )
    )
    https = t.add_resource(
        elbv2.Listener(
            "HttpsListener",
            Condition=HAS_CERTIFICATE,
            LoadBalancerArn=Ref(alb),
            Port=443,
            Protocol="HTTPS",
            SslPolicy=TLS_POLICY,
            Certificates=[elbv2.Certificate(CertificateArn=p.certificate_arn)],
            DefaultActions=[_forward(target_group)],
            Tags=tags(p, COMPONENT),
        )
    )
    return http, https


def add_load_balancer(
    t: Template, p: StackParameters, net: Network, sec: Security, site: Storage
) -> LoadBalancer:
    alb = _add_alb(t, p, net, sec, site)
    target_group = _add_target_group(t, p, net)
    http, https = _add_listeners(t, p, alb, target_group)
    return LoadBalancer(
        load_balancer=Ref(alb),
        dns_name=GetAtt(alb, "DNSName"),
        url=If(
            HAS_CERTIFICATE,
            Sub("https://${" + alb.title + ".DNSName}"),
            Sub("http://${" + alb.title + ".DNSName}"),
        ),
        full_name=GetAtt(alb, "LoadBalancerFullName"),
        target_group=Ref(target_group),
        target_group_full_name=GetAtt(target_group, "TargetGroupFullName"),
        forwarding_listener=If(HAS_CERTIFICATE, Ref(https), Ref(http)),
    )

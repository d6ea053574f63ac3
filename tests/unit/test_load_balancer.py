"""Requirement 3 (load balancer), asserted on the load-balancer component's template.

Network and security are stand-in references; storage is the real component, so the ALB's access-log
settings and its dependency on the log bucket policy are checked against what storage really builds.
"""

from __future__ import annotations

import json
from typing import Any

from templates import naming
from templates.parameters import HAS_CERTIFICATE, MAX_SUFFIX_LENGTH
from templates.storage import ALB_LOG_PREFIX
from templates.tap_stack import TapStack
from tests.template_helpers import assert_partial, props
from tests.unit._fragment import tag_keys, taggable_types

TLS_12_OR_LATER_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-",
    "ELBSecurityPolicy-TLS13-1-3-",
    "ELBSecurityPolicy-FS-1-2-",
)


def _attributes(tpl: dict[str, Any]) -> dict[str, Any]:
    pairs = props(tpl, "LoadBalancer")["LoadBalancerAttributes"]
    keys = [a["Key"] for a in pairs]
    assert len(keys) == len(set(keys)), f"duplicate attribute keys: {keys}"
    return {a["Key"]: a["Value"] for a in pairs}


def _forward() -> dict[str, Any]:
    return {"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}


def test_alb_is_internet_facing_in_the_public_subnets(tpl: dict[str, Any]) -> None:
    alb = props(tpl, "LoadBalancer")
    assert alb["Type"] == "application"
    assert alb["Scheme"] == "internet-facing"
    assert alb["Subnets"] == [{"Ref": "PublicSubnetA"}, {"Ref": "PublicSubnetB"}]
    assert alb["SecurityGroups"] == [{"Ref": "AlbSecurityGroup"}]
    assert alb["Name"] == {"Fn::Sub": naming.LOAD_BALANCER}


def test_alb_attributes_drop_invalid_headers_mitigate_desync_log_and_protect(tpl: dict[str, Any]) -> None:
    assert _attributes(tpl) == {
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "routing.http.desync_mitigation_mode": "defensive",
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": {"Ref": "LogBucket"},
        "access_logs.s3.prefix": ALB_LOG_PREFIX,
        "deletion_protection.enabled": {"Ref": "LoadBalancerDeletionProtection"},
    }


def test_alb_is_created_after_the_log_bucket_policy(tpl: dict[str, Any]) -> None:
    depends_on = tpl["Resources"]["LoadBalancer"]["DependsOn"]
    assert "LogBucketPolicy" in depends_on
    assert tpl["Resources"]["LogBucketPolicy"]["Type"] == "AWS::S3::BucketPolicy"


def test_alb_name_fits_32_characters_for_the_longest_suffix() -> None:
    name = naming.render(naming.LOAD_BALANCER, "a" * MAX_SUFFIX_LENGTH)
    assert len(name) <= 32, f"{name} has {len(name)} characters"
    assert not name.startswith("internal-")


def test_target_group_has_no_custom_name_so_a_new_vpc_can_replace_it(tpl: dict[str, Any]) -> None:
    # Its VpcId is create-only: a VpcCidr change replaces it, which CloudFormation cannot do under a fixed name.
    target_group = props(tpl, "TargetGroup")
    assert "Name" not in target_group
    tags = {t["Key"]: t["Value"] for t in target_group["Tags"]}
    assert tags["Name"] == {"Fn::Sub": naming.TARGET_GROUP}


def test_target_group_health_checks_the_instances(tpl: dict[str, Any]) -> None:
    tg = props(tpl, "TargetGroup")
    assert_partial(
        tg,
        {
            "Port": 80,
            "Protocol": "HTTP",
            "TargetType": "instance",
            "VpcId": {"Ref": "Vpc"},
            "HealthCheckEnabled": True,
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPath": "/health",
            "Matcher": {"HttpCode": "200"},
        },
    )
    assert tg["HealthCheckTimeoutSeconds"] < tg["HealthCheckIntervalSeconds"]
    assert tg["HealthyThresholdCount"] >= 2 and tg["UnhealthyThresholdCount"] >= 2
    attributes = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    assert attributes == {"deregistration_delay.timeout_seconds": "30", "stickiness.enabled": "false"}


def test_https_listener_exists_only_with_a_certificate_and_uses_tls12_or_later(tpl: dict[str, Any]) -> None:
    https = tpl["Resources"]["HttpsListener"]
    assert https["Condition"] == HAS_CERTIFICATE
    listener = https["Properties"]
    assert_partial(
        listener,
        {
            "LoadBalancerArn": {"Ref": "LoadBalancer"},
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": {"Ref": "CertificateArn"}}],
            "DefaultActions": [_forward()],
        },
    )
    assert listener["SslPolicy"].startswith(TLS_12_OR_LATER_POLICIES), listener["SslPolicy"]


def test_http_listener_redirects_with_a_certificate_and_forwards_without(tpl: dict[str, Any]) -> None:
    http = tpl["Resources"]["HttpListener"]
    assert "Condition" not in http, "port 80 must answer in both modes"
    assert_partial(
        http["Properties"], {"LoadBalancerArn": {"Ref": "LoadBalancer"}, "Port": 80, "Protocol": "HTTP"}
    )
    (action,) = http["Properties"]["DefaultActions"]
    condition, with_certificate, without = action["Fn::If"]
    assert condition == HAS_CERTIFICATE
    assert with_certificate == {
        "Type": "redirect",
        "RedirectConfig": {
            "Protocol": "HTTPS",
            "Port": "443",
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
    }
    assert without == _forward()


def test_only_the_two_listeners_exist(tpl: dict[str, Any]) -> None:
    listeners = {
        k for k, v in tpl["Resources"].items() if v["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    }
    assert listeners == {"HttpListener", "HttpsListener"}


def test_forwarding_listener_is_the_https_one_with_a_certificate(wired: TapStack) -> None:
    assert wired.load_balancer.forwarding_listener.to_dict() == {
        "Fn::If": [HAS_CERTIFICATE, {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]
    }


def test_no_wait_condition_handle_changes_with_a_parameter(tpl: dict[str, Any]) -> None:
    """AWS::CloudFormation::WaitConditionHandle does not support updates (CloudFormation User Guide,
    AWS::CloudFormation::WaitConditionHandle: "Updates aren't supported"), so nothing of one may follow a
    parameter or condition: an update of CertificateArn would otherwise have to update it."""
    for logical_id, resource in tpl["Resources"].items():
        if resource["Type"] == "AWS::CloudFormation::WaitConditionHandle":
            text = json.dumps({k: v for k, v in resource.items() if k != "Type"})
            assert "Ref" not in text and "Fn::" not in text and "Condition" not in text, logical_id


def test_url_scheme_follows_the_certificate(wired: TapStack) -> None:
    lb = wired.load_balancer
    assert lb.url.to_dict() == {
        "Fn::If": [
            HAS_CERTIFICATE,
            {"Fn::Sub": "https://${LoadBalancer.DNSName}"},
            {"Fn::Sub": "http://${LoadBalancer.DNSName}"},
        ]
    }


def test_load_balancer_returns_references_for_scaling_and_alarms(
    tpl: dict[str, Any], wired: TapStack
) -> None:
    lb = wired.load_balancer
    assert lb.load_balancer.to_dict() == {"Ref": "LoadBalancer"}
    assert lb.dns_name.to_dict() == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    assert lb.full_name.to_dict() == {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]}
    assert lb.target_group.to_dict() == {"Ref": "TargetGroup"}
    assert lb.target_group_full_name.to_dict() == {"Fn::GetAtt": ["TargetGroup", "TargetGroupFullName"]}


def test_taggable_load_balancer_resources_are_tagged(tpl: dict[str, Any]) -> None:
    mine = {"LoadBalancer", "TargetGroup", "HttpListener", "HttpsListener"}
    taggable = {k for k in mine if tpl["Resources"][k]["Type"] in taggable_types()}
    assert taggable >= {"LoadBalancer", "TargetGroup"}
    for logical_id in taggable:
        resource = tpl["Resources"][logical_id]
        assert tag_keys(resource) >= {"Environment", "Component", "Project", "CostCenter"}, logical_id
        component = [t["Value"] for t in resource["Properties"]["Tags"] if t["Key"] == "Component"]
        assert component == ["load-balancer"], logical_id

"""Requirement 7 (static content) and the log bucket, asserted on the storage component's template.

The encryption input is a stand-in reference, so the tests see exactly where the key ARN is used.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from templates import naming
from templates.parameters import MAX_SUFFIX_LENGTH
from templates.regions import (
    CLOUDFRONT_LOGGING_REGIONS,
    CLOUDFRONT_LOGGING_SUPPORTED,
    ELB_LOG_DELIVERY_ACCOUNTS,
    ELB_LOG_DELIVERY_BY_ACCOUNT,
    ELB_LOG_DELIVERY_MAPPING,
    ELB_LOG_DELIVERY_SERVICE,
)
from templates.storage import (
    ALB_LOG_PREFIX,
    CACHING_OPTIMIZED_POLICY_ID,
    SECURITY_HEADERS_POLICY_ID,
)
from templates.tap_stack import TapStack
from tests.template_helpers import assert_partial, only_resource, props, refs_in, resources_of_type
from tests.unit._fragment import tag_keys, taggable_types

KEY_ARN = {"Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KmsKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}
BUCKETS = ("StaticContentBucket", "LogBucket")
# Longest suffix the EnvironmentSuffix parameter allows, in both shapes its pattern accepts.
LONGEST_SUFFIXES = ("a" * MAX_SUFFIX_LENGTH, ("ab-" * MAX_SUFFIX_LENGTH)[: MAX_SUFFIX_LENGTH - 1] + "z")
LONGEST_REGION = "ap-southeast-99"  # 15 characters, longer than any Region today
S3_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def _statements(tpl: dict[str, Any], policy_id: str) -> list[dict[str, Any]]:
    return list(props(tpl, policy_id)["PolicyDocument"]["Statement"])


def _distribution_config(tpl: dict[str, Any]) -> dict[str, Any]:
    return props(tpl, "StaticContentDistribution")["DistributionConfig"]


@pytest.mark.parametrize("pattern", [naming.STATIC_BUCKET, naming.LOG_BUCKET])
@pytest.mark.parametrize("suffix", LONGEST_SUFFIXES)
def test_bucket_names_are_valid_for_the_longest_suffix_and_region(pattern: str, suffix: str) -> None:
    assert len(suffix) == MAX_SUFFIX_LENGTH
    name = naming.render(pattern, suffix, region=LONGEST_REGION)
    assert 3 <= len(name) <= 63, f"{name} has {len(name)} characters"
    assert S3_BUCKET_NAME.match(name), name
    # Prefixes and suffixes S3 reserves.
    assert not name.startswith(("xn--", "sthree-")), name
    assert not name.endswith(("-s3alias", "--ol-s3", "--x-s3")), name


def test_buckets_are_named_from_the_environment_suffix(tpl: dict[str, Any]) -> None:
    assert props(tpl, "StaticContentBucket")["BucketName"] == {"Fn::Sub": naming.STATIC_BUCKET}
    assert props(tpl, "LogBucket")["BucketName"] == {"Fn::Sub": naming.LOG_BUCKET}


def test_static_bucket_uses_sse_kms_with_a_bucket_key(tpl: dict[str, Any]) -> None:
    assert_partial(
        props(tpl, "StaticContentBucket")["BucketEncryption"],
        {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": KEY_ARN,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )


def test_log_bucket_uses_sse_s3_because_alb_access_logs_require_it(tpl: dict[str, Any]) -> None:
    rule = props(tpl, "LogBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_block_all_public_access(tpl: dict[str, Any], bucket: str) -> None:
    assert props(tpl, bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_static_bucket_ownership_is_bucket_owner_enforced(tpl: dict[str, Any]) -> None:
    rules = props(tpl, "StaticContentBucket")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_log_bucket_keeps_acls_for_cloudfront_standard_logging(tpl: dict[str, Any]) -> None:
    rules = props(tpl, "LogBucket")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerPreferred"}]


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_are_versioned_with_a_lifecycle_for_old_versions(tpl: dict[str, Any], bucket: str) -> None:
    assert props(tpl, bucket)["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = props(tpl, bucket)["LifecycleConfiguration"]["Rules"]
    assert any(
        r["Status"] == "Enabled"
        and r["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
        and r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] > 0
        for r in rules
    ), rules


def test_log_bucket_keeps_logs_one_year_then_expires_them(tpl: dict[str, Any]) -> None:
    # A year of access logs: incidents are often found months later; longer only costs.
    rules = props(tpl, "LogBucket")["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if r["Status"] == "Enabled" and "ExpirationInDays" in r]
    assert [r["ExpirationInDays"] for r in expiring] == [365], rules
    assert "Prefix" not in expiring[0] and "Filter" not in expiring[0], "every log expires, not some"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_send_event_notifications_to_eventbridge(tpl: dict[str, Any], bucket: str) -> None:
    assert props(tpl, bucket)["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


@pytest.mark.parametrize(
    ("policy", "bucket"),
    [("StaticContentBucketPolicy", "StaticContentBucket"), ("LogBucketPolicy", "LogBucket")],
)
def test_bucket_policies_deny_insecure_transport(tpl: dict[str, Any], policy: str, bucket: str) -> None:
    assert props(tpl, policy)["Bucket"] == {"Ref": bucket}
    denies = [s for s in _statements(tpl, policy) if s["Effect"] == "Deny"]
    assert len(denies) == 1, denies
    deny = denies[0]
    assert deny["Principal"] == "*"
    assert deny["Action"] == ["s3:*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # GetAtt Arn and Join(GetAtt Arn, "/*"): the forms policy scanners resolve to the bucket (CT.S3.PR.8).
    arn = {"Fn::GetAtt": [bucket, "Arn"]}
    assert deny["Resource"] == [arn, {"Fn::Join": ["", [arn, "/*"]]}]


def test_static_bucket_is_readable_only_by_this_distribution(tpl: dict[str, Any]) -> None:
    allows = [s for s in _statements(tpl, "StaticContentBucketPolicy") if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "AllowCloudFrontRead",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": ["s3:GetObject"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${StaticContentBucket}/*"}],
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"
                        "${StaticContentDistribution}"
                    }
                }
            },
        }
    ]


def test_no_bucket_policy_allows_everyone(tpl: dict[str, Any]) -> None:
    policies = resources_of_type(tpl, "AWS::S3::BucketPolicy")
    assert set(policies) == {"StaticContentBucketPolicy", "LogBucketPolicy"}
    for policy_id in policies:
        for statement in _statements(tpl, policy_id):
            if statement["Effect"] != "Deny":
                principal = json.dumps(statement["Principal"])
                assert statement["Principal"] != "*" and '"*"' not in principal, (policy_id, statement)


def test_distribution_reads_the_bucket_through_origin_access_control(tpl: dict[str, Any]) -> None:
    oac_id, oac = only_resource(tpl, "AWS::CloudFront::OriginAccessControl")
    assert_partial(
        oac["Properties"]["OriginAccessControlConfig"],
        {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"},
    )
    assert_partial(
        _distribution_config(tpl)["Origins"],
        [
            {
                "DomainName": {"Fn::GetAtt": ["StaticContentBucket", "RegionalDomainName"]},
                "OriginAccessControlId": {"Fn::GetAtt": [oac_id, "Id"]},
                "S3OriginConfig": {"OriginAccessIdentity": ""},
            }
        ],
    )


def test_distribution_redirects_to_https_and_serves_a_default_root_object(tpl: dict[str, Any]) -> None:
    config = _distribution_config(tpl)
    assert config["Enabled"] is True
    assert config["DefaultRootObject"] == "index.html"
    assert_partial(
        config["DefaultCacheBehavior"],
        {
            "TargetOriginId": config["Origins"][0]["Id"],
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED_POLICY_ID,
            "ResponseHeadersPolicyId": SECURITY_HEADERS_POLICY_ID,
            "Compress": True,
        },
    )
    assert not config.get("CacheBehaviors"), "every path must use the HTTPS-redirecting default behaviour"


def _regions_in_condition(tpl: dict[str, Any], condition: str) -> set[str]:
    return set(re.findall(r'"AWS::Region"\}, "([a-z0-9-]+)"', json.dumps(tpl["Conditions"][condition])))


def test_distribution_logs_to_the_log_bucket(tpl: dict[str, Any]) -> None:
    condition, logging, otherwise = _distribution_config(tpl)["Logging"]["Fn::If"]
    assert condition == CLOUDFRONT_LOGGING_SUPPORTED
    assert logging == {
        "Bucket": {"Fn::GetAtt": ["LogBucket", "DomainName"]},
        "Prefix": "cloudfront/",
        "IncludeCookies": False,
    }
    assert otherwise == {"Ref": "AWS::NoValue"}


# Regions whose buckets the CloudFront Developer Guide says standard logging (legacy) cannot deliver to; a
# distribution that logs to a bucket there fails to create.
CLOUDFRONT_UNSUPPORTED_LOG_REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
)


def test_distribution_does_not_log_to_a_bucket_in_a_region_cloudfront_cannot_deliver_to(
    tpl: dict[str, Any],
) -> None:
    regions = _regions_in_condition(tpl, CLOUDFRONT_LOGGING_SUPPORTED)
    assert regions == set(CLOUDFRONT_LOGGING_REGIONS)
    assert "us-east-1" in regions
    assert not regions & set(CLOUDFRONT_UNSUPPORTED_LOG_REGIONS)


def test_static_bucket_access_logs_go_to_the_log_bucket(tpl: dict[str, Any]) -> None:
    logging = props(tpl, "StaticContentBucket")["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "LogBucket"}
    prefix = logging["LogFilePrefix"]
    grants = [
        s
        for s in _statements(tpl, "LogBucketPolicy")
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert len(grants) == 1
    assert grants[0]["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${LogBucket}/" + prefix + "*"}]
    assert grants[0]["Condition"]["ArnLike"] == {
        "aws:SourceArn": {"Fn::GetAtt": ["StaticContentBucket", "Arn"]}
    }


def test_log_bucket_accepts_alb_access_logs_in_old_and_new_regions(tpl: dict[str, Any]) -> None:
    (grant,) = [
        s for s in _statements(tpl, "LogBucketPolicy") if s.get("Sid") == "AllowLoadBalancerAccessLogs"
    ]
    assert grant["Action"] == ["s3:PutObject"]
    assert grant["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:s3:::${LogBucket}/"
            + ALB_LOG_PREFIX
            + "/AWSLogs/${AWS::AccountId}/*"
        }
    ]
    condition, by_account, by_service = grant["Principal"]["Fn::If"]
    assert condition == ELB_LOG_DELIVERY_BY_ACCOUNT
    assert by_service == {"Service": ELB_LOG_DELIVERY_SERVICE}
    assert ELB_LOG_DELIVERY_MAPPING in json.dumps(by_account)
    mapping = tpl["Mappings"][ELB_LOG_DELIVERY_MAPPING]
    assert mapping["us-east-1"] == {"AccountId": "127311923021"}
    # The condition is true exactly in the Regions the mapping has an account for.
    assert _regions_in_condition(tpl, condition) == set(mapping) == set(ELB_LOG_DELIVERY_ACCOUNTS)


# AWS's published list: "Enable access logs for your Application Load Balancer" (Elastic Load Balancing User
# Guide, Step 2: attach a policy to your S3 bucket), "Regions available before August 2022", and for the China
# Regions "Getting Started with Amazon Web Services in China" (Elastic Load Balancing). Transcribed here by hand,
# independently of templates/regions.py, so a region missing from the template's map fails this test.
PUBLISHED_ELB_ACCOUNTS = {
    "us-east-1": "127311923021",  # US East (N. Virginia)
    "us-east-2": "033677994240",  # US East (Ohio)
    "us-west-1": "027434742980",  # US West (N. California)
    "us-west-2": "797873946194",  # US West (Oregon)
    "af-south-1": "098369216593",  # Africa (Cape Town)
    "ap-east-1": "754344448648",  # Asia Pacific (Hong Kong)
    "ap-southeast-3": "589379963580",  # Asia Pacific (Jakarta)
    "ap-south-1": "718504428378",  # Asia Pacific (Mumbai)
    "ap-northeast-3": "383597477331",  # Asia Pacific (Osaka)
    "ap-northeast-2": "600734575887",  # Asia Pacific (Seoul)
    "ap-southeast-1": "114774131450",  # Asia Pacific (Singapore)
    "ap-southeast-2": "783225319266",  # Asia Pacific (Sydney)
    "ap-northeast-1": "582318560864",  # Asia Pacific (Tokyo)
    "ca-central-1": "985666609251",  # Canada (Central)
    "eu-central-1": "054676820928",  # Europe (Frankfurt)
    "eu-west-1": "156460612806",  # Europe (Ireland)
    "eu-west-2": "652711504416",  # Europe (London)
    "eu-south-1": "635631232127",  # Europe (Milan)
    "eu-west-3": "009996457667",  # Europe (Paris)
    "eu-north-1": "897822967062",  # Europe (Stockholm)
    "me-south-1": "076674570225",  # Middle East (Bahrain)
    "sa-east-1": "507241528517",  # South America (Sao Paulo)
    "us-gov-west-1": "048591011584",  # AWS GovCloud (US-West)
    "us-gov-east-1": "190560391635",  # AWS GovCloud (US-East)
    "cn-north-1": "638102146993",  # China (Beijing)
    "cn-northwest-1": "037604701340",  # China (Ningxia)
}


def test_elb_log_delivery_accounts_are_exactly_the_published_list(tpl: dict[str, Any]) -> None:
    """Every Region AWS lists with an Elastic Load Balancing account, Asia Pacific (Jakarta) ap-southeast-3 ->
    589379963580 included, maps to that account; Regions opened after August 2022 (me-central-1,
    il-central-1, ca-west-1, ...) are not in the list and use logdelivery.elasticloadbalancing.amazonaws.com."""
    mapping = tpl["Mappings"][ELB_LOG_DELIVERY_MAPPING]
    assert {region: entry["AccountId"] for region, entry in mapping.items()} == PUBLISHED_ELB_ACCOUNTS
    for newer in ("me-central-1", "il-central-1", "ca-west-1", "ap-southeast-4", "eu-central-2"):
        assert newer not in mapping


@pytest.mark.parametrize("condition", [ELB_LOG_DELIVERY_BY_ACCOUNT, CLOUDFRONT_LOGGING_SUPPORTED])
def test_region_condition_respects_the_fn_or_limit(tpl: dict[str, Any], condition: str) -> None:
    def check(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Fn::Or":
                    assert 2 <= len(value) <= 10, f"Fn::Or with {len(value)} conditions"
                check(value)
        elif isinstance(node, list):
            for item in node:
                check(item)

    check(tpl["Conditions"][condition])


def test_no_account_id_outside_the_elb_mapping(tpl: dict[str, Any]) -> None:
    # Resources, conditions and any other mapping: parameter descriptions may quote an example ARN.
    mappings = {k: v for k, v in tpl.get("Mappings", {}).items() if k != ELB_LOG_DELIVERY_MAPPING}
    checked = json.dumps([tpl["Resources"], tpl["Conditions"], mappings])
    assert not re.findall(r"(?<!\d)\d{12}(?!\d)", checked)


@pytest.mark.parametrize(
    ("bucket", "deletion_policy"), [("StaticContentBucket", "RetainExceptOnCreate"), ("LogBucket", "Retain")]
)
def test_buckets_are_retained(tpl: dict[str, Any], bucket: str, deletion_policy: str) -> None:
    """The static bucket is empty when a first create fails, so RetainExceptOnCreate lets the rollback delete
    it and free its name. The log bucket receives ELB's test object as soon as access logging is enabled
    ("Enable access logs for your Application Load Balancer"), and CloudFormation cannot delete a bucket that
    is not empty, so it stays Retain even then."""
    resource = tpl["Resources"][bucket]
    assert resource["DeletionPolicy"] == deletion_policy
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_taggable_storage_resources_are_tagged(tpl: dict[str, Any]) -> None:
    storage_types = ("AWS::S3::", "AWS::CloudFront::")
    taggable = {
        k: v
        for k, v in tpl["Resources"].items()
        if v["Type"].startswith(storage_types) and v["Type"] in taggable_types()
    }
    assert set(taggable) == {"StaticContentBucket", "LogBucket", "StaticContentDistribution"}
    for logical_id, resource in taggable.items():
        assert tag_keys(resource) >= {"Environment", "Component", "Project", "CostCenter"}, logical_id
        component = [t["Value"] for t in resource["Properties"]["Tags"] if t["Key"] == "Component"]
        assert component == ["storage"], logical_id


def test_storage_returns_references_to_its_resources(tpl: dict[str, Any], wired: TapStack) -> None:
    site = wired.storage
    assert site.static_bucket.to_dict() == {"Ref": "StaticContentBucket"}
    assert site.static_bucket_arn.to_dict() == {"Fn::GetAtt": ["StaticContentBucket", "Arn"]}
    assert site.log_bucket.to_dict() == {"Ref": "LogBucket"}
    assert site.distribution.to_dict() == {"Ref": "StaticContentDistribution"}
    assert site.distribution_domain_name.to_dict() == {
        "Fn::GetAtt": ["StaticContentDistribution", "DomainName"]
    }
    assert tpl["Resources"][site.log_bucket_policy]["Type"] == "AWS::S3::BucketPolicy"
    assert "StaticContentDistribution" in refs_in(props(tpl, "StaticContentBucketPolicy"))

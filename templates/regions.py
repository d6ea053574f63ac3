"""Region facts the storage component needs: the Elastic Load Balancing log-delivery accounts and the Regions
whose buckets CloudFront standard logging can deliver to, as a mapping and conditions of the template."""

from __future__ import annotations

from troposphere import Equals, Or, Ref, Template

# ALB access logs: in the Regions that existed before August 2022 the bucket policy must name the regional
# Elastic Load Balancing account; newer Regions use the logdelivery.elasticloadbalancing.amazonaws.com
# service principal instead. The accounts are the ones AWS publishes in "Enable access logs for your
# Application Load Balancer" (Elastic Load Balancing User Guide), and for the two China Regions in "Getting
# Started with Amazon Web Services in China" (Elastic Load Balancing).
ELB_LOG_DELIVERY_MAPPING = "ElbLogDeliveryAccounts"
ELB_LOG_DELIVERY_BY_ACCOUNT = "ElbLogDeliveryByAccount"
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
ELB_LOG_DELIVERY_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}

# CloudFront standard logging (legacy) cannot deliver to a bucket in an opt-in Region: creating the
# distribution then fails with "You don't have permission to access the S3 bucket for CloudFront logs"
# (Amazon CloudFront Developer Guide, "Choosing an Amazon S3 bucket for your standard logs", lists af-south-1,
# ap-east-1, eu-south-1, me-south-1 and, as Regions open, every later opt-in Region). The Regions enabled by
# default are listed instead of the excluded ones, so a Region that opens later loses the CloudFront logs
# rather than the whole stack.
CLOUDFRONT_LOGGING_SUPPORTED = "CloudFrontStandardLoggingSupported"
CLOUDFRONT_LOGGING_REGIONS = (
    *("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1"),
    *("eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1"),
    *("ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2"),
)


def _in_regions(regions: list[str] | tuple[str, ...]) -> Or:
    """A condition that holds when the stack runs in one of the regions."""
    checks = [Equals(Ref("AWS::Region"), region) for region in regions]
    # Fn::Or takes 2 to 10 conditions, so the regions are grouped by ten.
    chunks = [checks[i : i + 10] for i in range(0, len(checks), 10)]
    groups = [Or(*chunk) if len(chunk) > 1 else chunk[0] for chunk in chunks]
    return Or(*groups)


def add_region_lookups(t: Template) -> None:
    accounts = {region: {"AccountId": account} for region, account in ELB_LOG_DELIVERY_ACCOUNTS.items()}
    t.add_mapping(ELB_LOG_DELIVERY_MAPPING, accounts)
    t.add_condition(ELB_LOG_DELIVERY_BY_ACCOUNT, _in_regions(list(ELB_LOG_DELIVERY_ACCOUNTS)))
    t.add_condition(CLOUDFRONT_LOGGING_SUPPORTED, _in_regions(CLOUDFRONT_LOGGING_REGIONS))

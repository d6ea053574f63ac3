"""Static-content bucket served through CloudFront with Origin Access Control, and the access-log bucket."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import s3 as s3_actions
from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Bool,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import FindInMap, GetAtt, If, Join, NoValue, Ref, Sub, Template, cloudfront, s3

from templates import naming
from templates.encryption import Encryption
from templates.lifecycle import retained, retained_unless_its_create_fails
from templates.parameters import StackParameters
from templates.regions import (
    CLOUDFRONT_LOGGING_SUPPORTED,
    ELB_LOG_DELIVERY_BY_ACCOUNT,
    ELB_LOG_DELIVERY_MAPPING,
    ELB_LOG_DELIVERY_SERVICE,
    add_region_lookups,
)
from templates.tags import tags

COMPONENT = "storage"

# Prefixes inside the log bucket, one per producer, so each bucket-policy grant covers only its own producer.
ALB_LOG_PREFIX = "alb"
S3_ACCESS_LOG_PREFIX = "s3-access/static/"
CLOUDFRONT_LOG_PREFIX = "cloudfront/"
# Access logs are kept a year: long enough to investigate an incident found late, then deleted.
LOG_EXPIRY_DAYS = 365

# AWS-managed CloudFront policies. Their ids are fixed by AWS and identical in every account.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"


@dataclass(frozen=True)
class Storage:
    static_bucket: Ref
    static_bucket_arn: GetAtt
    log_bucket: Ref
    distribution: Ref
    distribution_domain_name: GetAtt
    # Logical id of the log bucket's policy: the ALB must not be created before ELB may write to the bucket.
    log_bucket_policy: str = "LogBucketPolicy"


def _public_access_block() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
    )


def _s3_arn(bucket_id: str, key: str = "") -> Sub:
    """ARN of a bucket of this template (by logical id), or of keys in it when key is given."""
    return Sub("arn:${AWS::Partition}:s3:::${" + bucket_id + "}" + key)


def _deny_insecure_transport(bucket: s3.Bucket) -> Statement:
    # The bucket and its objects as GetAtt Arn and Join(GetAtt Arn, "/*"), not as a Sub: the forms policy
    # scanners (AWS Control Tower's CT.S3.PR.8 among them) resolve to this bucket.
    arn = GetAtt(bucket, "Arn")
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[Action("s3", "*")],
        Resource=[arn, Join("", [arn, "/*"])],
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )


# The Join of _deny_insecure_transport, kept on purpose: cfn-lint's informational I1022 prefers a Sub.
JOIN_FOR_SCANNERS = {
    "cfn-lint": {
        "config": {"ignore_checks": ["I1022"]},
        "reasons": {
            "I1022": "The object ARN of the insecure-transport deny is Fn::Join of the bucket's GetAtt Arn and "
            "'/*' because policy scanners (AWS Control Tower CT.S3.PR.8) recognise that form and not a Sub."
        },
    }
}


def _eventbridge_notifications() -> s3.NotificationConfiguration:
    # Every object event goes to EventBridge (CT.S3.PR.4): free until a rule consumes it, and a rule can be
    # added later without changing the bucket.
    return s3.NotificationConfiguration(
        EventBridgeConfiguration=s3.EventBridgeConfiguration(EventBridgeEnabled=True)
    )


def _add_log_bucket(t: Template, p: StackParameters) -> s3.Bucket:
    bucket = s3.Bucket(
        "LogBucket",
        BucketName=naming.name(naming.LOG_BUCKET),
        # ALB access logs and S3 server access logs support only SSE-S3 (AES256) on the destination bucket,
        # so this bucket cannot use the stack's KMS key.
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
                )
            ]
        ),
        PublicAccessBlockConfiguration=_public_access_block(),
        # CloudFront standard logging writes through an ACL grant and refuses a bucket whose ACLs are disabled
        # (BucketOwnerEnforced); BucketOwnerPreferred keeps ACLs usable while the bucket owner owns the logs.
        OwnershipControls=s3.OwnershipControls(
            Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        NotificationConfiguration=_eventbridge_notifications(),
        LifecycleConfiguration=s3.LifecycleConfiguration(
            Rules=[
                s3.LifecycleRule(
                    Id="ExpireLogs",
                    Status="Enabled",
                    ExpirationInDays=LOG_EXPIRY_DAYS,
                    NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30),
                    AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
                )
            ]
        ),
        Tags=tags(p, COMPONENT),
        # Retain even when the first create rolls back: Elastic Load Balancing writes a test object here as
        # soon as the load balancer's access logs are enabled, and CloudFormation cannot delete a bucket that
        # is not empty, so RetainExceptOnCreate would turn a failed create into a failed rollback.
        **retained(),
        Metadata={
            "checkov": {
                "skip": [
                    {
                        "id": "CKV_AWS_18",
                        "comment": "This is the access-log destination; logging it into itself would log "
                        "every log delivery, and another log bucket would only move the question.",
                    }
                ]
            }
        },
    )
    return t.add_resource(bucket)


def _add_log_bucket_policy(t: Template, log_bucket: s3.Bucket, static_bucket: s3.Bucket) -> s3.BucketPolicy:
    elb_principal = If(
        ELB_LOG_DELIVERY_BY_ACCOUNT,
        {
            "AWS": Sub(
                "arn:${AWS::Partition}:iam::${ElbAccount}:root",
                ElbAccount=FindInMap(ELB_LOG_DELIVERY_MAPPING, Ref("AWS::Region"), "AccountId"),
            )
        },
        {"Service": ELB_LOG_DELIVERY_SERVICE},
    )
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            _deny_insecure_transport(log_bucket),
            Statement(
                Sid="AllowLoadBalancerAccessLogs",
                Effect=Allow,
                Principal=elb_principal,
                Action=[s3_actions.PutObject],
                Resource=[_s3_arn(log_bucket.title, "/" + ALB_LOG_PREFIX + "/AWSLogs/${AWS::AccountId}/*")],
            ),
            Statement(
                Sid="AllowS3ServerAccessLogs",
                Effect=Allow,
                Principal=Principal("Service", "logging.s3.amazonaws.com"),
                Action=[s3_actions.PutObject],
                Resource=[_s3_arn(log_bucket.title, "/" + S3_ACCESS_LOG_PREFIX + "*")],
                Condition=Condition(
                    [
                        ArnLike("aws:SourceArn", GetAtt(static_bucket, "Arn")),
                        StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
                    ]
                ),
            ),
        ],
    )
    return t.add_resource(
        s3.BucketPolicy(
            "LogBucketPolicy", Bucket=Ref(log_bucket), PolicyDocument=policy, Metadata=JOIN_FOR_SCANNERS
        )
    )


def _add_static_bucket(t: Template, p: StackParameters, enc: Encryption, log_bucket: s3.Bucket) -> s3.Bucket:
    bucket = s3.Bucket(
        "StaticContentBucket",
        BucketName=naming.name(naming.STATIC_BUCKET),
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                        SSEAlgorithm="aws:kms", KMSMasterKeyID=enc.key_arn
                    ),
                    # One data key per bucket, not a KMS call per object: lower cost, less throttling.
                    BucketKeyEnabled=True,
                )
            ]
        ),
        PublicAccessBlockConfiguration=_public_access_block(),
        OwnershipControls=s3.OwnershipControls(
            Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        NotificationConfiguration=_eventbridge_notifications(),
        LifecycleConfiguration=s3.LifecycleConfiguration(
            Rules=[
                s3.LifecycleRule(
                    Id="ExpireOldVersions",
                    Status="Enabled",
                    NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=90),
                    AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
                )
            ]
        ),
        LoggingConfiguration=s3.LoggingConfiguration(
            DestinationBucketName=Ref(log_bucket), LogFilePrefix=S3_ACCESS_LOG_PREFIX
        ),
        Tags=tags(p, COMPONENT),
        **retained_unless_its_create_fails(),
    )
    return t.add_resource(bucket)


def _add_distribution(
    t: Template, p: StackParameters, static_bucket: s3.Bucket, log_bucket: s3.Bucket
) -> cloudfront.Distribution:
    oac = t.add_resource(
        cloudfront.OriginAccessControl(
            "StaticContentOriginAccessControl",
            OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
                Name=naming.name(naming.ORIGIN_ACCESS_CONTROL),
                Description="CloudFront reads the static-content bucket with SigV4-signed requests",
                OriginAccessControlOriginType="s3",
                SigningBehavior="always",
                SigningProtocol="sigv4",
            ),
        )
    )
    origin_id = "StaticContentBucket"
    skips = [
        (
            "CKV_AWS_68",
            "Static, public, read-only content with no forms or dynamic origin; a WAF web ACL (which must "
            "live in us-east-1) is out of scope for this stack and can be attached by the operations team.",
        ),
        (
            "CKV_AWS_86",
            "Standard logging to the log bucket is on in every Region whose buckets CloudFront can deliver "
            "logs to (condition CloudFrontStandardLoggingSupported); in opt-in Regions CloudFront refuses such "
            "a bucket and the distribution would fail to create. The check cannot see through the Fn::If.",
        ),
        (
            "CKV_AWS_174",
            "The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the "
            "minimum protocol at TLSv1; MinimumProtocolVersion only applies to a custom (ACM) certificate.",
        ),
    ]
    distribution = cloudfront.Distribution(
        "StaticContentDistribution",
        DistributionConfig=cloudfront.DistributionConfig(
            Comment=Sub("Static content of tap ${EnvironmentSuffix}"),
            Enabled=True,
            DefaultRootObject="index.html",
            HttpVersion="http2and3",
            IPV6Enabled=True,
            PriceClass="PriceClass_100",
            Origins=[
                cloudfront.Origin(
                    Id=origin_id,
                    DomainName=GetAtt(static_bucket, "RegionalDomainName"),
                    OriginAccessControlId=GetAtt(oac, "Id"),
                    # An empty identity is how CloudFormation says "no legacy OAI": OAC signs instead.
                    S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                )
            ],
            DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
                TargetOriginId=origin_id,
                ViewerProtocolPolicy="redirect-to-https",
                AllowedMethods=["GET", "HEAD"],
                CachedMethods=["GET", "HEAD"],
                CachePolicyId=CACHING_OPTIMIZED_POLICY_ID,
                ResponseHeadersPolicyId=SECURITY_HEADERS_POLICY_ID,
                Compress=True,
            ),
            # CloudFront standard logging names the bucket by its s3.amazonaws.com domain name. In a Region
            # whose buckets CloudFront cannot log to, the distribution goes without logs instead of failing.
            Logging=If(
                CLOUDFRONT_LOGGING_SUPPORTED,
                cloudfront.Logging(
                    Bucket=GetAtt(log_bucket, "DomainName"),
                    Prefix=CLOUDFRONT_LOG_PREFIX,
                    IncludeCookies=False,
                ),
                NoValue,
            ),
        ),
        Tags=tags(p, COMPONENT),
        Metadata={"checkov": {"skip": [{"id": i, "comment": c} for i, c in skips]}},
    )
    return t.add_resource(distribution)


def _add_static_bucket_policy(
    t: Template, static_bucket: s3.Bucket, distribution: cloudfront.Distribution
) -> s3.BucketPolicy:
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            _deny_insecure_transport(static_bucket),
            Statement(
                Sid="AllowCloudFrontRead",
                Effect=Allow,
                Principal=Principal("Service", "cloudfront.amazonaws.com"),
                Action=[s3_actions.GetObject],
                Resource=[_s3_arn(static_bucket.title, "/*")],
                # Only this distribution, not any CloudFront distribution in any account.
                Condition=Condition(
                    StringEquals(
                        "AWS:SourceArn",
                        Sub(
                            "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${"
                            + distribution.title
                            + "}"
                        ),
                    )
                ),
            ),
        ],
    )
    return t.add_resource(
        s3.BucketPolicy(
            "StaticContentBucketPolicy",
            Bucket=Ref(static_bucket),
            PolicyDocument=policy,
            Metadata=JOIN_FOR_SCANNERS,
        )
    )


def add_storage(t: Template, p: StackParameters, enc: Encryption) -> Storage:
    add_region_lookups(t)
    log_bucket = _add_log_bucket(t, p)
    static_bucket = _add_static_bucket(t, p, enc, log_bucket)
    log_policy = _add_log_bucket_policy(t, log_bucket, static_bucket)
    distribution = _add_distribution(t, p, static_bucket, log_bucket)
    _add_static_bucket_policy(t, static_bucket, distribution)
    return Storage(
        static_bucket=Ref(static_bucket),
        static_bucket_arn=GetAtt(static_bucket, "Arn"),
        log_bucket=Ref(log_bucket),
        distribution=Ref(distribution),
        distribution_domain_name=GetAtt(distribution, "DomainName"),
        log_bucket_policy=log_policy.title,
    )

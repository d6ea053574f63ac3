"""Names derived from the environment suffix, in one place so that every limit can be checked together.

Each name is a `Sub` pattern. `render` fills a pattern with concrete values so tests can check the longest
suffix against each AWS limit (listed by resource type in tests/unit/test_stack.py) without deploying anything.
"""

from __future__ import annotations

from troposphere import Sub

from cfnspec.limits import DEFAULT_REGION

PREFIX = "tap"

# S3 bucket names: 3-63 characters, lower-case letters, digits, hyphens. The account id and region make them
# globally unique; the suffix pattern (templates/parameters.py) keeps them lower-case.
STATIC_BUCKET = PREFIX + "-static-${EnvironmentSuffix}-${AWS::AccountId}-${AWS::Region}"
LOG_BUCKET = PREFIX + "-logs-${EnvironmentSuffix}-${AWS::AccountId}-${AWS::Region}"
# CloudFront names are unique per account across regions, hence the region.
ORIGIN_ACCESS_CONTROL = PREFIX + "-${EnvironmentSuffix}-static-${AWS::Region}"
# Load balancer names: at most 32 characters.
LOAD_BALANCER = PREFIX + "-${EnvironmentSuffix}-alb"
# The target group's Name tag only: a custom name would stop CloudFormation from replacing the group.
TARGET_GROUP = PREFIX + "-${EnvironmentSuffix}-web"
AUTO_SCALING_GROUP = PREFIX + "-${EnvironmentSuffix}-web"
LAUNCH_TEMPLATE = PREFIX + "-${EnvironmentSuffix}-web"
KMS_ALIAS = "alias/" + PREFIX + "-${EnvironmentSuffix}"
ALARM_TOPIC = PREFIX + "-${EnvironmentSuffix}-alarms"
# Dashboard names are unique per account across all regions (CloudWatch dashboards are global), so the same
# environment in two regions needs the region in the name.
DASHBOARD = PREFIX + "-${EnvironmentSuffix}-${AWS::Region}"
FLOW_LOG_GROUP = "/" + PREFIX + "/${EnvironmentSuffix}/vpc-flow-logs"
APP_LOG_GROUP = "/" + PREFIX + "/${EnvironmentSuffix}/web/application"
ACCESS_LOG_GROUP = "/" + PREFIX + "/${EnvironmentSuffix}/web/access"
METRICS_NAMESPACE = "TAP/${EnvironmentSuffix}"

# Every pattern above that names a resource; tests/unit/test_stack.py checks each against its service's limit.
PATTERNS = frozenset(
    {
        STATIC_BUCKET,
        LOG_BUCKET,
        ORIGIN_ACCESS_CONTROL,
        LOAD_BALANCER,
        AUTO_SCALING_GROUP,
        LAUNCH_TEMPLATE,
        KMS_ALIAS,
        ALARM_TOPIC,
        DASHBOARD,
        FLOW_LOG_GROUP,
        APP_LOG_GROUP,
        ACCESS_LOG_GROUP,
    }
)


def name(pattern: str) -> Sub:
    """The CloudFormation expression for a name pattern."""
    return Sub(pattern)


def render(pattern: str, suffix: str, account_id: str = "111122223333", region: str = DEFAULT_REGION) -> str:
    """The concrete name a pattern gives for a suffix, account and region."""
    return (
        pattern.replace("${EnvironmentSuffix}", suffix)
        .replace("${AWS::AccountId}", account_id)
        .replace("${AWS::Region}", region)
    )

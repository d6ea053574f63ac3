"""Everything the deployer and the hand-off page know about a resource type that holds data or a name: one entry
per type, so that adding a type is one entry here (tests/unit/test_resource_kinds.py says what else is missing).

Each entry decides: whether the type is stateful whatever the template says (the data-loss guard, the stack
policy); the property that gives it its custom name; whether `deploy --import-existing-resources` and the page's
re-create recipe adopt it, and under which ResourceIdentifier key; what deleting the stack leaves and how it is
removed (the page's Tearing down), in which order; and how preflight and the page's free-name script find a
leftover holding its name. Read by cfnspec.stateful, deployer/importing.py, deployer/preflight/leftovers.py and
generator/ (describe, teardown, recreate, preflight_cli). Shell lines are AWS CLI commands as the page prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from botocore import xform_name


class Adopt(Enum):
    """How an import finds a retained resource of the type."""

    BY_NAME = "looked up under the name the template gives it"
    BY_KEY_USE = "through its alias, or as the key the adopted resources are encrypted with"
    WITH_ITS_KEY = "adopted with the key it points to, when it still exists"


@dataclass(frozen=True)
class Import:
    key: str  # ResourceIdentifier key: the type's schema primaryIdentifier
    adopt: Adopt
    # The page's recipe: shell lines that `continue` its loop when the resource whose physical id is in $ID is gone
    # (or, for a key, cannot be adopted). Empty for a type adopted with another (it is not in the retained record).
    still_there: tuple[str, ...]


@dataclass(frozen=True)
class NotImported:
    why: str


@dataclass(frozen=True)
class Removal:
    # Lower stages go first: a key is removed after what may be encrypted with it.
    stage: int
    lines: tuple[str, ...]  # shell lines removing the resource whose physical id is in $ID


@dataclass(frozen=True)
class NameList:
    """A paginated List/Describe call that tells whether a name exists: preflight's leftover check makes it, and
    the page prints it as an AWS CLI command."""

    service: str  # the boto3 client and the AWS CLI service
    operation: str  # the API operation, e.g. DescribeLogGroups
    items: str  # the response's list
    name_key: str  # the name in each item
    prefix: str | None  # the request parameter that narrows the list to a name prefix; None: the whole list
    plural: str  # what preflight calls them in its PASS line
    remove: str  # the command that removes a leftover, with {name}
    tagged: bool  # the service tags it with its stack (aws:cloudformation:*): its owner is read from the tags
    account_wide: bool = False  # names are unique across the account's regions

    @property
    def permission(self) -> str:
        return f"{self.service}:{self.operation}"

    def method(self) -> str:
        return xform_name(self.operation)

    def cli(self, name: str, logical_id: str) -> str:
        """The page's command: prints the name when it is taken, nothing when it is free."""
        op = xform_name(self.operation, "-")
        where = " (names are account-wide)" if self.account_wide else ""
        if self.prefix:
            return (
                f'aws {self.service} {op} --region "$REGION" --{xform_name(self.prefix, "-")} {name} '
                f"--query '{self.items}[].{self.name_key}' --output text  # {logical_id}{where}"
            )
        return (
            f'aws {self.service} {op} --region "$REGION" --query "{self.items}[?{self.name_key}==\'"{name}"\']'
            f'.{self.name_key}" --output text  # {logical_id}{where}'
        )


@dataclass(frozen=True)
class OtherCheck:
    check: str  # the preflight check that covers the name instead (deployer/preflight/catalogue.py)


@dataclass(frozen=True)
class NotChecked:
    why: str


@dataclass(frozen=True)
class Kind:
    stateful: bool  # replacing or removing it loses data, whatever the template says
    name_property: str | None  # the property giving its custom name; None: it has none
    imported: Import | NotImported
    on_delete: str  # what a delete that retains it leaves (the page's "What stays")
    cleanup: str  # how it is removed once its data is no longer needed (the same list)
    removal: Removal | None  # None: the page gives no command (cleanup says why)
    # Why it stays Retain even when the create that made it rolls back; None: the page's general reason.
    why_retain: str | None
    leftover: NameList | OtherCheck | NotChecked


BUCKET = "AWS::S3::Bucket"
LOG_GROUP = "AWS::Logs::LogGroup"
KEY = "AWS::KMS::Key"
ALIAS = "AWS::KMS::Alias"

KINDS: Mapping[str, Kind] = {
    BUCKET: Kind(
        stateful=True,
        name_property="BucketName",
        imported=Import(
            "BucketName", Adopt.BY_NAME, ('aws s3api head-bucket --bucket "$ID" 2>/dev/null || continue',)
        ),
        on_delete="The bucket and every object version stay (and keep costing storage).",
        cleanup="Removed by deleting every object version and delete marker (`aws s3 rm --recursive` leaves the "
        "old versions of a versioned bucket behind), then the bucket.",
        # Emptied a page at a time: each pass deletes what it listed (at most the 1,000 keys delete-objects
        # takes), so the next list starts at what is left.
        removal=Removal(
            1,
            (
                "while true; do",
                '  aws s3api list-object-versions --region "$REGION" --bucket "$ID" --max-items 1000 \\',
                "    --query '{Objects: [Versions[].{Key: Key, VersionId: VersionId}, "
                "DeleteMarkers[].{Key: Key, VersionId: VersionId}][]}' --output json > versions.json",
                "  [ \"$(jq '.Objects | length' versions.json)\" -eq 0 ] && break",
                '  aws s3api delete-objects --region "$REGION" --bucket "$ID" --delete file://versions.json \\',
                "    --query 'length(Deleted)'",
                "done",
                'aws s3api delete-bucket --region "$REGION" --bucket "$ID"',
            ),
        ),
        why_retain="a bucket that receives objects during the create is not empty when the create rolls back "
        "(Elastic Load Balancing writes a test object to the access-log bucket as soon as logging is enabled), and "
        "CloudFormation cannot delete a bucket that is not empty: the rollback itself would fail",
        leftover=OtherCheck("bucket-names"),
    ),
    LOG_GROUP: Kind(
        stateful=True,
        name_property="LogGroupName",
        imported=Import(
            "LogGroupName",
            Adopt.BY_NAME,
            (
                "# A prefix also matches longer names: count the exact one, on whichever page it comes.",
                'FOUND=$(aws logs describe-log-groups --region "$REGION" --log-group-name-prefix "$ID" \\',
                "  --query \"length(logGroups[?logGroupName=='$ID'])\" --output text)",
                '[ "$FOUND" = 1 ] || continue',
            ),
        ),
        on_delete="The log group stays, and its events until its retention period expires them.",
        cleanup="Removed with `aws logs delete-log-group`.",
        removal=Removal(1, ('aws logs delete-log-group --region "$REGION" --log-group-name "$ID"',)),
        why_retain=None,
        leftover=NameList(
            "logs",
            "DescribeLogGroups",
            "logGroups",
            "logGroupName",
            "logGroupNamePrefix",
            "log groups",
            "aws logs delete-log-group --log-group-name {name}",
            tagged=True,
        ),
    ),
    KEY: Kind(
        stateful=True,
        name_property=None,
        imported=Import(
            "KeyId",
            Adopt.BY_KEY_USE,
            (
                'STATE=$(aws kms describe-key --region "$REGION" --key-id "$ID" \\',
                "  --query KeyMetadata.KeyState --output text 2>/dev/null || echo missing)",
                '[ "$STATE" = Enabled ] || { echo "$LOGICAL_ID: key $ID is $STATE (cancel its deletion and enable '
                'it, or the update creates a new key)" >&2; continue; }',
            ),
        ),
        on_delete="The key stays enabled (and billed monthly); retained buckets, log groups and EBS snapshots "
        "encrypted with it need it.",
        cleanup="Removed last, once nothing encrypted with it is left, by scheduling its deletion "
        '(`aws kms cancel-key-deletion --region "$REGION" --key-id KEY_ID` undoes it within the 30 days).',
        removal=Removal(
            2,
            (
                'aws kms schedule-key-deletion --region "$REGION" --key-id "$ID" --pending-window-in-days 30 \\',
                "  --query DeletionDate --output text",
            ),
        ),
        why_retain=None,
        leftover=NotChecked("a key has no name; the alias that names it is checked"),
    ),
    ALIAS: Kind(
        stateful=False,
        name_property="AliasName",
        imported=Import("AliasName", Adopt.WITH_ITS_KEY, ()),
        on_delete="The alias stays, naming its key.",
        cleanup="Removed with `aws kms delete-alias`.",
        removal=Removal(1, ('aws kms delete-alias --region "$REGION" --alias-name "$ID"',)),
        why_retain=None,
        leftover=NameList(
            "kms",
            "ListAliases",
            "Aliases",
            "AliasName",
            None,
            "aliases",
            "aws kms delete-alias --alias-name {name}",
            tagged=False,  # aliases have no tags: their owner is read from CloudFormation alone
        ),
    ),
    # CloudFormation's handler reads the name before it creates (GetDashboard before PutDashboard, in the type's
    # schema), so a dashboard left under the name fails the create ("Dashboard '...' already exists").
    "AWS::CloudWatch::Dashboard": Kind(
        stateful=False,
        name_property="DashboardName",
        imported=NotImported("it holds no data: the stack makes it again from the template"),
        on_delete="The dashboard stays.",
        cleanup="Removed with `aws cloudwatch delete-dashboards`.",
        removal=Removal(1, ('aws cloudwatch delete-dashboards --region "$REGION" --dashboard-names "$ID"',)),
        why_retain=None,
        leftover=NameList(
            "cloudwatch",
            "ListDashboards",
            "DashboardEntries",
            "DashboardName",
            "DashboardNamePrefix",
            "dashboards",
            "aws cloudwatch delete-dashboards --dashboard-names {name}",
            tagged=True,
            account_wide=True,
        ),
    ),
    "AWS::SNS::Topic": Kind(
        stateful=False,
        name_property="TopicName",
        imported=NotImported("topics are not looked up; the stack creates a new one"),
        on_delete="The topic stays, with its subscriptions.",
        cleanup="Removed with `aws sns delete-topic`.",
        removal=Removal(1, ('aws sns delete-topic --region "$REGION" --topic-arn "$ID"',)),
        why_retain=None,
        leftover=NotChecked("topics are not listed by preflight"),
    ),
    "AWS::DynamoDB::Table": Kind(
        stateful=True,
        name_property="TableName",
        imported=NotImported("tables are not looked up; the stack creates a new one"),
        on_delete="The table and its items stay (and keep costing storage).",
        cleanup="Removed with `aws dynamodb delete-table`.",
        removal=Removal(1, ('aws dynamodb delete-table --region "$REGION" --table-name "$ID"',)),
        why_retain=None,
        leftover=NotChecked("tables are not listed by preflight"),
    ),
    "AWS::IAM::ServiceLinkedRole": Kind(
        stateful=False,
        name_property=None,  # AWS names it after the service
        imported=NotImported(
            "one role serves the whole account; when it exists, deploy with "
            "CreateAutoScalingServiceLinkedRole=false instead"
        ),
        on_delete="The role stays: every Auto Scaling group (or other user of the service) in the account "
        "relies on it.",
        cleanup="Leave it in place.",
        removal=None,
        why_retain="the role is shared by every Auto Scaling group in the account",
        leftover=OtherCheck("service-linked-role"),
    ),
}

# Derived views, each read by one or more consumers.
STATEFUL_TYPES = frozenset(t for t, k in KINDS.items() if k.stateful)
NAME_PROPERTIES: Mapping[str, str] = {t: k.name_property for t, k in KINDS.items() if k.name_property}
# Retained resources the page's recipe and deploy.py import from what the old stack retained, in table order.
IMPORTED: Mapping[str, Import] = {
    t: k.imported
    for t, k in KINDS.items()
    if isinstance(k.imported, Import) and k.imported.adopt is not Adopt.WITH_ITS_KEY
}
# Names preflight's leftover check looks up, and the page's free-name script prints, in table order.
NAME_LISTS: Mapping[str, NameList] = {
    t: k.leftover for t, k in KINDS.items() if isinstance(k.leftover, NameList)
}
# Template sections an import template keeps: whatever the imported resources' properties and conditions use.
IMPORT_TEMPLATE_SECTIONS = (
    "AWSTemplateFormatVersion",
    "Description",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
)


def import_key(resource_type: str) -> str:
    """The ResourceIdentifier key of an importable type."""
    imported = KINDS[resource_type].imported
    assert isinstance(imported, Import), f"{resource_type} is not imported"
    return imported.key


def removal_order(types: list[str]) -> list[str]:
    """The types among these that the page removes by command, in the order they are removed."""
    index = list(KINDS)
    stages = {t: removal.stage for t in types if t in KINDS and (removal := KINDS[t].removal) is not None}
    return sorted(stages, key=lambda t: (stages[t], index.index(t)))


class UnknownKind(ValueError):
    """A template retains a type this table has no entry for."""


def kind(resource_type: str, logical_id: str) -> Kind:
    """The entry of a resource type the page describes; a clear error naming the fix when it has none."""
    if resource_type not in KINDS:
        raise UnknownKind(
            f"{logical_id} ({resource_type}) is retained, but cfnspec/resource_kinds.py has no entry for "
            f"{resource_type}: add one (what a delete leaves, how it is removed, whether it is imported)"
        )
    return KINDS[resource_type]

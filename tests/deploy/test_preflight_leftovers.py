"""Check 6: log groups, KMS aliases and dashboards an earlier stack left under this stack's names, against moto."""

from __future__ import annotations

import boto3

from deployer.preflight.leftovers import check_leftovers
from deployer.preflight.model import Status
from emulator.server import MotoServer
from tests.deploy._preflight import ACCOUNT, REGION, StubClients, moto_context, one, stubbed_context
from tests.deploy.conftest import T0

# Not the default "dev": moto's state is shared by every server in the process, and the demo deploys "dev".
FLOW = "/tap/pf-left/vpc-flow-logs"  # the template's first named log group
OTHER = "tap-pf-other"  # a live stack of another environment that uses the same suffix
OTHER_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{OTHER}/0000"
DASHBOARD = (
    f"tap-pf-left-{REGION}"  # the template's dashboard name: names are account-wide, so it holds the region
)


def test_no_leftovers_pass(moto: MotoServer) -> None:
    finding = one(check_leftovers(moto_context(moto, EnvironmentSuffix="pf-left")), Status.PASS)
    assert finding.message == (
        "none of the 5 named log groups / aliases / dashboards is left over from an earlier stack"
    )


def test_a_retained_log_group_fails_with_the_command_to_remove_it_or_the_flag_that_adopts_it(
    moto: MotoServer,
) -> None:
    boto3.client("logs", region_name=REGION, endpoint_url=moto.endpoint).create_log_group(
        logGroupName="/tap/pf-left/web/access"
    )
    failure = one(check_leftovers(moto_context(moto, EnvironmentSuffix="pf-left")), Status.FAIL)
    assert (
        "/tap/pf-left/web/access (AccessLogGroup)" in failure.message
        and "DeletionPolicy Retain" in failure.message
    )
    remove, keep = (failure.fix or "").splitlines()
    assert remove == "remove it: aws logs delete-log-group --log-group-name /tap/pf-left/web/access"
    assert keep.startswith("or keep it and its data: re-create with --import-existing-resources")


def test_an_alias_left_by_an_earlier_stack_fails(moto: MotoServer) -> None:
    kms = boto3.client("kms", region_name=REGION, endpoint_url=moto.endpoint)
    kms.create_alias(AliasName="alias/tap-pf-left", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    failure = one(check_leftovers(moto_context(moto, EnvironmentSuffix="pf-left")), Status.FAIL)
    assert "alias/tap-pf-left" in failure.message
    assert "aws kms delete-alias --alias-name alias/tap-pf-left" in (failure.fix or "")


def test_a_dashboard_left_by_an_earlier_stack_fails_and_its_only_fix_is_removal(moto: MotoServer) -> None:
    """CloudFormation reads a dashboard's name before it creates it and fails "already exists": the hand-off
    page checked dashboards, preflight did not. A dashboard holds no data, so the import is not offered."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION, endpoint_url=moto.endpoint)
    cloudwatch.put_dashboard(DashboardName=DASHBOARD, DashboardBody='{"widgets": []}')
    try:
        failure = one(check_leftovers(moto_context(moto, EnvironmentSuffix="pf-left")), Status.FAIL)
    finally:
        cloudwatch.delete_dashboards(DashboardNames=[DASHBOARD])
    assert f"AWS::CloudWatch::Dashboard {DASHBOARD} (Dashboard) already exists" in failure.message
    assert failure.fix == f"remove it: aws cloudwatch delete-dashboards --dashboard-names {DASHBOARD}"


def test_a_dashboard_of_a_live_stack_is_read_from_its_tags() -> None:
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        for _ in range(3):
            clients.stub("logs").add_response("describe_log_groups", {"logGroups": []})
        clients.stub("kms").add_response("list_aliases", {"Aliases": []}, {})
        cloudwatch = clients.stub("cloudwatch")
        # A longer name with the same prefix is someone else's: only the exact name counts.
        entries = [{"DashboardName": f"{DASHBOARD}-old"}, {"DashboardName": DASHBOARD}]
        cloudwatch.add_response(
            "list_dashboards", {"DashboardEntries": entries}, {"DashboardNamePrefix": DASHBOARD}
        )
        cloudwatch.add_response(
            "list_tags_for_resource",
            {"Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]},
            {"ResourceARN": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{DASHBOARD}"},
        )
        _live(clients, OTHER_ID)
        failure = one(check_leftovers(ctx), Status.FAIL)
    assert f"{DASHBOARD} (Dashboard) belongs to the live stack {OTHER}" in failure.message
    assert (failure.fix or "").startswith("choose another EnvironmentSuffix")


def no_dashboard(clients: StubClients) -> None:
    clients.stub("cloudwatch").add_response(
        "list_dashboards", {"DashboardEntries": []}, {"DashboardNamePrefix": DASHBOARD}
    )


def no_stack(clients: StubClients, physical_id: str) -> None:
    """CloudFormation's answer for a physical id that no stack holds."""
    clients.stub("cloudformation").add_client_error(
        "describe_stack_resources",
        "ValidationError",
        f"Stack for {physical_id} does not exist",
        400,
        expected_params={"PhysicalResourceId": physical_id},
    )


def _live(clients: StubClients, stack_id: str, status: str = "UPDATE_COMPLETE") -> None:
    stack = {"StackName": OTHER, "StackId": stack_id, "StackStatus": status, "CreationTime": T0}
    clients.stub("cloudformation").add_response(
        "describe_stacks", {"Stacks": [stack]}, {"StackName": stack_id}
    )


def _only_first_log_group_exists(clients: StubClients, name: str, tags: dict[str, str]) -> None:
    logs = clients.stub("logs")
    logs.add_response(
        "describe_log_groups", {"logGroups": [{"logGroupName": name}]}, {"logGroupNamePrefix": name}
    )
    logs.add_response(
        "list_tags_for_resource",
        {"tags": tags},
        {"resourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"},
    )
    for _ in range(2):
        logs.add_response("describe_log_groups", {"logGroups": []})


TAGS = {"aws:cloudformation:stack-name": OTHER, "aws:cloudformation:stack-id": OTHER_ID}


def test_a_log_group_of_a_live_stack_is_that_stacks_and_the_fix_is_another_suffix() -> None:
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        _only_first_log_group_exists(clients, FLOW, TAGS)
        _live(clients, OTHER_ID)
        clients.stub("kms").add_response("list_aliases", {"Aliases": []}, {})
        no_dashboard(clients)
        failure = one(check_leftovers(ctx), Status.FAIL)
    assert FLOW in failure.message and f"belongs to the live stack {OTHER}" in failure.message
    assert (failure.fix or "").startswith("choose another EnvironmentSuffix")
    assert "delete" not in (failure.fix or "") and "IMPORT" not in (failure.fix or "")


def test_a_log_group_tagged_by_a_deleted_stack_is_a_leftover_with_both_fixes() -> None:
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        _only_first_log_group_exists(clients, FLOW, TAGS)
        _live(clients, OTHER_ID, "DELETE_COMPLETE")
        clients.stub("kms").add_response("list_aliases", {"Aliases": []}, {})
        no_dashboard(clients)
        failure = one(check_leftovers(ctx), Status.FAIL)
    assert "belongs to no stack" in failure.message
    assert f"aws logs delete-log-group --log-group-name {FLOW}" in (failure.fix or "")
    assert "re-create with --import-existing-resources" in (failure.fix or "")


def test_an_alias_of_a_live_stack_is_found_through_its_physical_id() -> None:
    alias = "alias/tap-pf-left"
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        for _ in range(3):
            clients.stub("logs").add_response("describe_log_groups", {"logGroups": []})
        clients.stub("kms").add_response("list_aliases", {"Aliases": [{"AliasName": alias}]}, {})
        resource = {
            "StackName": OTHER,
            "StackId": OTHER_ID,
            "LogicalResourceId": "KmsKeyAlias",
            "PhysicalResourceId": alias,
            "ResourceType": "AWS::KMS::Alias",
            "Timestamp": T0,
            "ResourceStatus": "CREATE_COMPLETE",
        }
        clients.stub("cloudformation").add_response(
            "describe_stack_resources", {"StackResources": [resource]}, {"PhysicalResourceId": alias}
        )
        _live(clients, OTHER_ID)
        no_dashboard(clients)
        failure = one(check_leftovers(ctx), Status.FAIL)
    assert f"belongs to the live stack {OTHER} as KmsKeyAlias" in failure.message
    assert "delete-alias" not in (failure.fix or "") and "EnvironmentSuffix" in (failure.fix or "")


def test_an_alias_whose_owner_cannot_be_read_gets_no_removal_advice() -> None:
    alias = "alias/tap-pf-left"
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        for _ in range(3):
            clients.stub("logs").add_response("describe_log_groups", {"logGroups": []})
        clients.stub("kms").add_response("list_aliases", {"Aliases": [{"AliasName": alias}]}, {})
        clients.stub("cloudformation").add_client_error(
            "describe_stack_resources", "AccessDenied", "not authorized", 403
        )
        no_dashboard(clients)
        failure = one(check_leftovers(ctx), Status.FAIL)
    assert "cannot be read" in failure.message and "cloudformation:DescribeStackResources" in failure.message
    assert "delete-alias" not in (failure.fix or "") and "EnvironmentSuffix" in (failure.fix or "")


def test_aliases_are_read_across_pages() -> None:
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        clients.stub("logs")  # no log group answers needed below: each returns an empty page
        for _ in range(3):
            clients.stub("logs").add_response("describe_log_groups", {"logGroups": []})
        kms = clients.stub("kms")
        kms.add_response(
            "list_aliases",
            {"Aliases": [{"AliasName": "alias/other"}], "Truncated": True, "NextMarker": "m2"},
            {},
        )
        kms.add_response(
            "list_aliases",
            {"Aliases": [{"AliasName": "alias/tap-pf-left"}], "Truncated": False},
            {"Marker": "m2"},
        )
        no_stack(clients, "alias/tap-pf-left")
        no_dashboard(clients)
        failure = one(check_leftovers(ctx), Status.FAIL)
    assert "alias/tap-pf-left" in failure.message and "belongs to no stack" in failure.message


def test_a_denied_lookup_is_a_warning_naming_the_permission() -> None:
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        for _ in range(3):
            clients.stub("logs").add_client_error("describe_log_groups", "AccessDeniedException", "no", 400)
        clients.stub("kms").add_response("list_aliases", {"Aliases": []}, {})
        clients.stub("cloudwatch").add_client_error("list_dashboards", "AccessDenied", "no", 403)
        findings = check_leftovers(ctx)
    assert len(findings) == 4 and all("logs:DescribeLogGroups" in f.message for f in findings[:3])
    assert "cloudwatch:ListDashboards" in findings[3].message

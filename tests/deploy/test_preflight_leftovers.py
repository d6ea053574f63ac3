"""Check 6: log groups and KMS aliases an earlier stack left under this stack's names, against moto."""

from __future__ import annotations

import boto3

from deployer.preflight.leftovers import check_leftovers
from deployer.preflight.model import Status
from emulator.server import MotoServer
from tests.deploy._preflight import REGION, moto_context, one, stubbed_context

# Not the default "dev": moto's state is shared by every server in the process, and the demo deploys "dev".


def test_no_leftovers_pass(moto: MotoServer) -> None:
    finding = one(check_leftovers(moto_context(moto, EnvironmentSuffix="pf-left")), Status.PASS)
    assert "none of the 4 named" in finding.message


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
        failure = one(check_leftovers(ctx), Status.FAIL)
    assert "alias/tap-pf-left" in failure.message


def test_a_denied_lookup_is_a_warning_naming_the_permission() -> None:
    with stubbed_context(EnvironmentSuffix="pf-left") as (ctx, clients):
        for _ in range(3):
            clients.stub("logs").add_client_error("describe_log_groups", "AccessDeniedException", "no", 400)
        clients.stub("kms").add_response("list_aliases", {"Aliases": []}, {})
        findings = check_leftovers(ctx)
    assert len(findings) == 3 and all("logs:DescribeLogGroups" in f.message for f in findings)

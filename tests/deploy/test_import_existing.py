"""--import-existing-resources: which retained resources are adopted, the import template, the flag's edges, and
the emulator's IMPORT change sets (emulator/import_gap.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from cfnspec.resolve import Scope, parameter_values
from deployer import cli
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode, NeedsDecision
from deployer.importing import Adoption, Lookups, import_template, plan_import
from emulator.server import MotoServer
from tests.deploy._preflight import ACCOUNT, REGION, StubClients, tap_stack
from tests.deploy.conftest import Harness
from tests.deploy.test_stack_state_scenarios import PREVIOUS, queue_update

SUFFIX = "imp"
STATIC = f"tap-static-{SUFFIX}-{ACCOUNT}-{REGION}"
LOGS = f"tap-logs-{SUFFIX}-{ACCOUNT}-{REGION}"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::StackName": "tap-imp",
}


def _scope(doc: dict[str, Any], **given: str) -> Scope:
    return Scope(parameter_values(doc, {"EnvironmentSuffix": SUFFIX, **given}), PSEUDO, doc)


def _moto_lookups(moto: MotoServer) -> Lookups:
    return Lookups(ClientFactory(ClientSettings(endpoint_url=moto.endpoint, max_attempts=2)).client)


def _client(moto: MotoServer, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=moto.endpoint)  # type: ignore[call-overload]


def _retained_bucket_with_key(moto: MotoServer) -> str:
    """What a teardown leaves: the static bucket, encrypted with the stack's key; the key's alias is gone."""
    key_id = str(_client(moto, "kms").create_key()["KeyMetadata"]["KeyId"])
    s3 = _client(moto, "s3")
    s3.create_bucket(Bucket=STATIC)
    s3.put_bucket_encryption(
        Bucket=STATIC,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}
            ]
        },
    )
    return key_id


# --- which resources are adopted --------------------------------------------------------------------------------


def test_the_key_is_found_through_the_bucket_encrypted_with_it_when_its_alias_is_gone(
    moto: MotoServer,
) -> None:
    doc = tap_stack()
    key_id = _retained_bucket_with_key(moto)
    plan = plan_import(doc, _scope(doc), _moto_lookups(moto))
    assert plan.adopted == (
        Adoption("StaticContentBucket", "AWS::S3::Bucket", STATIC),
        Adoption("KmsKey", "AWS::KMS::Key", key_id),
    )
    assert (
        any("AutoScalingServiceLinkedRole" in note for note in plan.notes) is False
    )  # its condition is false


def test_an_alias_that_still_exists_names_the_key_and_is_adopted_with_it(moto: MotoServer) -> None:
    doc = tap_stack()
    kms = _client(moto, "kms")
    key_id = str(kms.create_key()["KeyMetadata"]["KeyId"])
    kms.create_alias(AliasName=f"alias/tap-{SUFFIX}", TargetKeyId=key_id)
    plan = plan_import(doc, _scope(doc), _moto_lookups(moto))
    assert plan.adopted == (
        Adoption("KmsKey", "AWS::KMS::Key", key_id),
        Adoption("KmsKeyAlias", "AWS::KMS::Alias", f"alias/tap-{SUFFIX}"),
    )


def test_a_key_pending_deletion_stops_with_the_commands_that_bring_it_back(moto: MotoServer) -> None:
    doc = tap_stack()
    key_id = _retained_bucket_with_key(moto)
    _client(moto, "kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(NeedsDecision) as caught:
        plan_import(doc, _scope(doc), _moto_lookups(moto))
    assert "PendingDeletion" in caught.value.message
    assert f"aws kms cancel-key-deletion --key-id {key_id}" in (caught.value.hint or "")


def test_a_bucket_encrypted_with_an_aws_managed_key_adopts_no_key() -> None:
    # Stubbed: moto reports its default keys (alias/aws/s3) as KeyManager CUSTOMER.
    doc = tap_stack()
    clients = StubClients()
    logs = clients.stub("logs")
    for name in ("vpc-flow-logs", "web/application", "web/access"):
        logs.add_response(
            "describe_log_groups", {"logGroups": []}, {"logGroupNamePrefix": f"/tap/{SUFFIX}/{name}"}
        )
    s3 = clients.stub("s3")
    s3.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": LOGS})
    s3.add_response("head_bucket", {}, {"Bucket": STATIC})
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"}
    }
    s3.add_response(
        "get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [rule]}}, {"Bucket": STATIC}
    )
    kms = clients.stub("kms")
    kms.add_client_error(
        "describe_key", "NotFoundException", "no alias", 400, expected_params={"KeyId": "alias/tap-imp"}
    )
    kms.add_response(
        "describe_key",
        {"KeyMetadata": {"KeyId": "aws-s3-key", "KeyManager": "AWS", "KeyState": "Enabled"}},
        {"KeyId": "alias/aws/s3"},
    )
    plan = plan_import(doc, _scope(doc), Lookups(clients))
    for stub in clients.stubs.values():
        stub.assert_no_pending_responses()
    assert [a.logical_id for a in plan.adopted] == ["StaticContentBucket"]
    assert any("managed by AWS" in note and "a new key is created" in note for note in plan.notes)


def test_a_key_given_by_parameter_is_not_the_stacks_to_adopt(moto: MotoServer) -> None:
    doc = tap_stack()
    _retained_bucket_with_key(moto)
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/brought"
    plan = plan_import(doc, _scope(doc, KmsKeyArn=arn), _moto_lookups(moto))
    assert [a.logical_id for a in plan.adopted] == ["StaticContentBucket"]


def test_nothing_retained_exists_nothing_is_adopted(moto: MotoServer) -> None:
    doc = tap_stack()
    plan = plan_import(doc, _scope(doc), _moto_lookups(moto))
    assert plan.adopted == ()
    assert any("KmsKey" in note and "a new key" in note for note in plan.notes)


def test_log_groups_are_matched_exactly_across_pages_and_a_bucket_of_another_account_is_named() -> None:
    doc = tap_stack()
    clients = StubClients()
    logs = clients.stub("logs")
    prefix = f"/tap/{SUFFIX}/vpc-flow-logs"
    logs.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": prefix + "-old"}], "nextToken": "t2"},
        {"logGroupNamePrefix": prefix},
    )
    logs.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": prefix}]},
        {"logGroupNamePrefix": prefix, "nextToken": "t2"},
    )
    s3 = clients.stub("s3")
    s3.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": LOGS})
    s3.add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": STATIC})
    for name in ("application", "access"):
        logs.add_response(
            "describe_log_groups", {"logGroups": []}, {"logGroupNamePrefix": f"/tap/{SUFFIX}/web/{name}"}
        )
    clients.stub("kms").add_client_error("describe_key", "NotFoundException", "no alias", 400)
    plan = plan_import(doc, _scope(doc), Lookups(clients))
    for stub in clients.stubs.values():
        stub.assert_no_pending_responses()
    assert plan.adopted == (Adoption("FlowLogGroup", "AWS::Logs::LogGroup", prefix),)
    assert any(STATIC in note and "another account" in note for note in plan.notes)


# --- the import template ----------------------------------------------------------------------------------------


def test_the_import_template_holds_only_the_adopted_resources_each_with_a_deletion_policy() -> None:
    doc = tap_stack()
    adopted = [
        Adoption("StaticContentBucket", "AWS::S3::Bucket", STATIC),
        Adoption("KmsKeyAlias", "AWS::KMS::Alias", "alias/tap-imp"),
    ]
    out = import_template(doc, adopted)
    assert list(out["Resources"]) == ["StaticContentBucket", "KmsKeyAlias"]
    # An import needs a DeletionPolicy on each resource: Retain on every one, whatever the template says, so a
    # rolled-back import never deletes what it adopted (the update that follows sets the template's own).
    policies = {logical_id: r["DeletionPolicy"] for logical_id, r in out["Resources"].items()}
    assert policies == {"StaticContentBucket": "Retain", "KmsKeyAlias": "Retain"}
    assert (
        "Outputs" not in out
        and out["Parameters"] == doc["Parameters"]
        and out["Conditions"] == doc["Conditions"]
    )
    # Properties that refer to resources not imported (the key, the log bucket) are left to the update.
    bucket = out["Resources"]["StaticContentBucket"]["Properties"]
    assert "BucketEncryption" not in bucket and "LoggingConfiguration" not in bucket
    assert bucket["BucketName"] == doc["Resources"]["StaticContentBucket"]["Properties"]["BucketName"]
    assert "TargetKeyId" not in out["Resources"]["KmsKeyAlias"]["Properties"]
    assert "DeletionPolicy" not in doc["Resources"]["KmsKeyAlias"], "the full template was changed"


def test_the_import_template_keeps_references_among_the_adopted_resources() -> None:
    doc = tap_stack()
    adopted = [
        Adoption("StaticContentBucket", "AWS::S3::Bucket", STATIC),
        Adoption("LogBucket", "AWS::S3::Bucket", LOGS),
        Adoption("KmsKey", "AWS::KMS::Key", "k"),
    ]
    bucket = import_template(doc, adopted)["Resources"]["StaticContentBucket"]
    # Everything but the deletion policy, which an import always sets to Retain (a rolled-back import of a
    # RetainExceptOnCreate resource must not delete it); the update that follows sets the template's own.
    assert bucket == {**doc["Resources"]["StaticContentBucket"], "DeletionPolicy": "Retain"}
    assert doc["Resources"]["StaticContentBucket"]["DeletionPolicy"] == "RetainExceptOnCreate"


# --- the flag on the command line -------------------------------------------------------------------------------


def test_the_flag_on_a_stack_that_exists_imports_nothing_and_updates_as_usual(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    queue_update(harness)
    assert harness.run(*harness.deploy_args("--import-existing-resources")) == ExitCode.SUCCESS
    assert "stack app exists (UPDATE_COMPLETE); nothing to import" in harness.output
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet"]


def test_a_run_stopped_after_the_import_carries_on_with_the_update(harness: Harness) -> None:
    harness.expect_stack("IMPORT_COMPLETE", Parameters=PREVIOUS)
    queue_update(harness)
    assert harness.run(*harness.deploy_args("--import-existing-resources")) == ExitCode.SUCCESS
    assert "holds the imported resources; updating it to the full template" in harness.output


def test_the_flag_in_review_mode_is_refused_before_any_call(harness: Harness) -> None:
    code = harness.run(*harness.deploy_args("--import-existing-resources", "--no-execute-changeset"))
    assert code == ExitCode.BAD_INPUT
    assert "--import-existing-resources cannot be combined with --no-execute-changeset" in harness.errors
    assert harness.calls == []


# --- the emulator's IMPORT change sets --------------------------------------------------------------------------


def _import_change_set(
    moto: MotoServer, template: dict[str, Any], to_import: list[dict[str, Any]]
) -> dict[str, Any]:
    cfn = _client(moto, "cloudformation")
    cfn.create_change_set(
        StackName="imp",
        ChangeSetName="imp-1",
        ChangeSetType="IMPORT",
        TemplateBody=json.dumps(template),
        ResourcesToImport=to_import,
    )
    answer: dict[str, Any] = cfn.describe_change_set(StackName="imp", ChangeSetName="imp-1")
    return answer


BUCKET_TEMPLATE = {"Resources": {"Site": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}
BUCKET_IMPORT = [
    {
        "ResourceType": "AWS::S3::Bucket",
        "LogicalResourceId": "Site",
        "ResourceIdentifier": {"BucketName": "imp-site"},
    }
]


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ({"Resources": {"Site": {"Type": "AWS::S3::Bucket"}}}, "must have a DeletionPolicy"),
        (
            {"Resources": {**BUCKET_TEMPLATE["Resources"], "Topic": {"Type": "AWS::SNS::Topic"}}},
            "not in ResourcesToImport",
        ),
    ],
)
def test_the_emulator_fails_an_import_as_aws_does(
    moto: MotoServer, template: dict[str, Any], reason: str
) -> None:
    _client(moto, "s3").create_bucket(Bucket="imp-site")
    page = _import_change_set(moto, template, BUCKET_IMPORT)
    assert page["Status"] == "FAILED" and reason in page["StatusReason"]


def test_the_emulator_fails_the_import_of_a_resource_that_does_not_exist(moto: MotoServer) -> None:
    page = _import_change_set(moto, BUCKET_TEMPLATE, BUCKET_IMPORT)
    assert page["Status"] == "FAILED" and "does not exist" in page["StatusReason"]


def test_the_emulator_imports_an_existing_bucket_without_touching_its_objects(moto: MotoServer) -> None:
    s3 = _client(moto, "s3")
    s3.create_bucket(Bucket="imp-site")
    s3.put_object(Bucket="imp-site", Key="a.txt", Body=b"data")
    page = _import_change_set(moto, BUCKET_TEMPLATE, BUCKET_IMPORT)
    assert [c["ResourceChange"]["Action"] for c in page["Changes"]] == ["Import"]
    cfn = _client(moto, "cloudformation")
    cfn.execute_change_set(StackName="imp", ChangeSetName="imp-1")
    assert cfn.describe_stacks(StackName="imp")["Stacks"][0]["StackStatus"] == "IMPORT_COMPLETE"
    resources = cfn.describe_stack_resources(StackName="imp")["StackResources"]
    assert [(r["LogicalResourceId"], r["PhysicalResourceId"]) for r in resources] == [("Site", "imp-site")]
    assert s3.get_object(Bucket="imp-site", Key="a.txt")["Body"].read() == b"data"


# --- the whole command against the emulator, with a small template ----------------------------------------------

SMALL = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
    "Resources": {
        "Site": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "Properties": {"BucketName": {"Fn::Sub": "imp-${Env}-site"}},
        },
        "Topic": {"Type": "AWS::SNS::Topic"},
    },
}


def _run(moto: MotoServer, tmp_path: Path, answer: str | None) -> tuple[int, str]:
    template = tmp_path / "small.json"
    template.write_text(json.dumps(SMALL))
    out = io.StringIO()
    env = cli.Environment(
        stdout=out, stderr=out, stdin_is_tty=answer is not None, confirm=lambda _: answer or ""
    )
    args = [
        "deploy",
        "--stack-name",
        "imp-small",
        "--template-file",
        str(template),
        "--endpoint-url",
        moto.endpoint,
    ]
    code = cli.main(
        [*args, "--poll-interval", "0", "--max-poll-interval", "0", "--import-existing-resources"], env
    )
    return code, out.getvalue()


def test_answering_no_on_a_terminal_imports_and_creates_nothing(moto: MotoServer, tmp_path: Path) -> None:
    _client(moto, "s3").create_bucket(Bucket="imp-dev-site")
    code, out = _run(moto, tmp_path, "n")
    assert code == ExitCode.NEEDS_DECISION, out
    assert "nothing was imported or created" in out
    assert _client(moto, "cloudformation").describe_stacks()["Stacks"] == []


def test_with_nothing_retained_left_the_stack_is_created_as_usual(moto: MotoServer, tmp_path: Path) -> None:
    code, out = _run(moto, tmp_path, None)
    assert code == ExitCode.SUCCESS, out
    assert "none of them exists: creating the stack as usual" in out and "IMPORT change set" not in out
    assert _client(moto, "cloudformation").describe_stacks(StackName="imp-small")["Stacks"][0][
        "StackStatus"
    ] == ("CREATE_COMPLETE")


def test_a_small_template_adopts_its_retained_bucket_then_creates_the_rest(
    moto: MotoServer, tmp_path: Path
) -> None:
    s3 = _client(moto, "s3")
    s3.create_bucket(Bucket="imp-dev-site")
    s3.put_object(Bucket="imp-dev-site", Key="a.txt", Body=b"data")
    code, out = _run(moto, tmp_path, "y")
    assert code == ExitCode.SUCCESS, out
    resources = _client(moto, "cloudformation").list_stack_resources(StackName="imp-small")[
        "StackResourceSummaries"
    ]
    assert {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}["Site"] == "imp-dev-site"
    assert {r["LogicalResourceId"] for r in resources} == {"Site", "Topic"}
    assert s3.get_object(Bucket="imp-dev-site", Key="a.txt")["Body"].read() == b"data"

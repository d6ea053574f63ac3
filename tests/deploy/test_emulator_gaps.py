"""The emulator answers as AWS does where moto did not (emulator/api_gaps.py, changeset_gaps.py, drift_gaps.py).

Each test calls the emulator through boto3, as deploy.py does, and fails on moto without the project's patch.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from deployer.clients import ClientFactory, ClientSettings
from emulator.server import MotoServer

BUCKET_NAMED_BY_PARAMETER: dict[str, Any] = {
    "Parameters": {
        "Suffix": {"Type": "String", "Default": "one"},
        "Retention": {"Type": "Number", "Default": "7"},
        "KeyArn": {"Type": "String", "Default": ""},
    },
    "Conditions": {"CreateKey": {"Fn::Equals": [{"Ref": "KeyArn"}, ""]}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "data-${Suffix}"}}},
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": "/gaps/app", "RetentionInDays": {"Ref": "Retention"}},
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "gaps-topic"}},
        "Key": {
            "Type": "AWS::KMS::Key",
            "Condition": "CreateKey",
            "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}},
        },
    },
}


def _client(moto: MotoServer, service: str) -> Any:
    return ClientFactory(ClientSettings(endpoint_url=moto.endpoint)).client(service)


def _cfn(moto: MotoServer) -> Any:
    return _client(moto, "cloudformation")


def _create(moto: MotoServer, doc: dict[str, Any], **parameters: str) -> None:
    _cfn(moto).create_stack(
        StackName="gaps",
        TemplateBody=json.dumps(doc),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )


def _change_set(
    moto: MotoServer, doc: dict[str, Any], change_set_type: str = "UPDATE", **parameters: str
) -> str:
    cfn = _cfn(moto)
    given = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    kept = [
        {"ParameterKey": k, "UsePreviousValue": True}
        for k in doc["Parameters"]
        if k not in parameters and change_set_type == "UPDATE"
    ]
    answer = cfn.create_change_set(
        StackName="gaps",
        ChangeSetName="next",
        TemplateBody=json.dumps(doc),
        ChangeSetType=change_set_type,
        Parameters=given + kept,
    )
    return str(answer["Id"])


def _changes(moto: MotoServer, change_set_id: str) -> dict[str, dict[str, Any]]:
    described = _cfn(moto).describe_change_set(ChangeSetName=change_set_id)
    return {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]}


def test_get_template_with_a_change_set_name_returns_the_change_sets_template(moto: MotoServer) -> None:
    _create(moto, BUCKET_NAMED_BY_PARAMETER)
    edited = json.loads(json.dumps(BUCKET_NAMED_BY_PARAMETER))
    edited["Resources"]["Bucket"]["Properties"]["BucketName"] = "renamed-in-the-template"
    change_set_id = _change_set(moto, edited)
    cfn = _cfn(moto)
    for name in (change_set_id, "next"):
        body = cfn.get_template(StackName="gaps", ChangeSetName=name)["TemplateBody"]
        assert body["Resources"]["Bucket"]["Properties"]["BucketName"] == "renamed-in-the-template"
    deployed = cfn.get_template(StackName="gaps")["TemplateBody"]
    assert deployed["Resources"]["Bucket"]["Properties"]["BucketName"] == {"Fn::Sub": "data-${Suffix}"}


def test_a_create_change_set_leaves_out_a_resource_whose_condition_is_false(moto: MotoServer) -> None:
    changes = _changes(moto, _change_set(moto, BUCKET_NAMED_BY_PARAMETER, "CREATE", KeyArn="arn:aws:kms:k"))
    assert set(changes) == {"Bucket", "Logs", "Topic"}
    assert {c["Action"] for c in changes.values()} == {"Add"}


def test_a_condition_turning_false_removes_the_resource_in_the_change_set(moto: MotoServer) -> None:
    _create(moto, BUCKET_NAMED_BY_PARAMETER)
    changes = _changes(moto, _change_set(moto, BUCKET_NAMED_BY_PARAMETER, KeyArn="arn:aws:kms:k"))
    assert {k: c["Action"] for k, c in changes.items()} == {"Key": "Remove"}
    assert changes["Key"]["PhysicalResourceId"]


def test_a_parameter_only_update_lists_the_modified_resources_with_their_replacement(
    moto: MotoServer,
) -> None:
    _create(moto, BUCKET_NAMED_BY_PARAMETER)
    changes = _changes(moto, _change_set(moto, BUCKET_NAMED_BY_PARAMETER, Suffix="two", Retention="14"))
    assert {k: (c["Action"], c["Replacement"]) for k, c in changes.items()} == {
        "Bucket": ("Modify", "True"),  # BucketName is create-only in the resource schema
        "Logs": ("Modify", "False"),  # RetentionInDays is not
    }
    (detail,) = changes["Bucket"]["Details"]
    assert detail["Target"] == {
        "Attribute": "Properties",
        "Name": "BucketName",
        "RequiresRecreation": "Always",
    }
    assert (detail["ChangeSource"], detail["CausingEntity"]) == ("ParameterReference", "Suffix")
    assert changes["Logs"]["Scope"] == ["Properties"]


def test_a_parameter_that_no_resource_uses_lists_no_change(moto: MotoServer) -> None:
    doc = json.loads(json.dumps(BUCKET_NAMED_BY_PARAMETER))
    doc["Parameters"]["Unused"] = {"Type": "String", "Default": "a"}
    _create(moto, doc)
    assert _changes(moto, _change_set(moto, doc, Unused="b")) == {}


def test_describe_stack_resources_by_logical_id_answers_when_a_resource_was_never_built(
    moto: MotoServer,
) -> None:
    _create(moto, BUCKET_NAMED_BY_PARAMETER, KeyArn="arn:aws:kms:us-east-1:123456789012:key/brought")
    cfn = _cfn(moto)
    found = cfn.describe_stack_resources(StackName="gaps", LogicalResourceId="Topic")["StackResources"]
    assert [(r["LogicalResourceId"], r["ResourceType"]) for r in found] == [("Topic", "AWS::SNS::Topic")]
    listed = cfn.list_stack_resources(StackName="gaps")["StackResourceSummaries"]
    assert sorted(r["LogicalResourceId"] for r in listed) == ["Bucket", "Logs", "Topic"]


@pytest.mark.parametrize("by", ["KeyId", "Arn"])
def test_schedule_key_deletion_takes_a_key_id_or_its_arn(moto: MotoServer, by: str) -> None:
    kms = _client(moto, "kms")
    key = kms.create_key()["KeyMetadata"]
    answer = kms.schedule_key_deletion(KeyId=key[by], PendingWindowInDays=7)
    assert answer["KeyId"] == key["Arn"]
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert kms.cancel_key_deletion(KeyId=key[by])["KeyId"] == key["Arn"]


@pytest.mark.parametrize(
    ("action", "call"),
    [("CancelUpdateStack", "cancel_update_stack"), ("ContinueUpdateRollback", "continue_update_rollback")],
)
def test_cancel_and_continue_on_a_stable_stack_are_refused_as_aws_refuses_them(
    moto: MotoServer, action: str, call: str
) -> None:
    _create(moto, BUCKET_NAMED_BY_PARAMETER)
    cfn = _cfn(moto)
    with pytest.raises(ClientError) as refused:
        getattr(cfn, call)(StackName="gaps")
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationError",
        f"{action} cannot be called from current stack status",
    )
    with pytest.raises(ClientError) as missing:
        getattr(cfn, call)(StackName="no-such-stack")
    assert missing.value.response["Error"]["Code"] == "ValidationError"
    assert "does not exist" in missing.value.response["Error"]["Message"]


def _detect(moto: MotoServer) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    cfn = _cfn(moto)
    detection = cfn.detect_stack_drift(StackName="gaps")["StackDriftDetectionId"]
    status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
    drifts = cfn.describe_stack_resource_drifts(StackName="gaps")["StackResourceDrifts"]
    return status, {d["LogicalResourceId"]: d for d in drifts}


def test_drift_detection_of_an_untouched_stack_is_in_sync(moto: MotoServer) -> None:
    _create(moto, BUCKET_NAMED_BY_PARAMETER)
    status, drifts = _detect(moto)
    assert (status["DetectionStatus"], status["StackDriftStatus"]) == ("DETECTION_COMPLETE", "IN_SYNC")
    assert {k: d["StackResourceDriftStatus"] for k, d in drifts.items()} == {
        "Bucket": "IN_SYNC",
        "Logs": "IN_SYNC",
        "Topic": "IN_SYNC",
        "Key": "NOT_CHECKED",  # like a type AWS cannot check, it does not count as drift
    }


def test_drift_detection_finds_a_changed_property_and_a_deleted_resource(moto: MotoServer) -> None:
    _create(moto, BUCKET_NAMED_BY_PARAMETER)
    _client(moto, "logs").put_retention_policy(logGroupName="/gaps/app", retentionInDays=30)
    topic = _cfn(moto).describe_stack_resource(StackName="gaps", LogicalResourceId="Topic")
    _client(moto, "sns").delete_topic(TopicArn=topic["StackResourceDetail"]["PhysicalResourceId"])
    status, drifts = _detect(moto)
    assert (status["StackDriftStatus"], status["DriftedStackResourceCount"]) == ("DRIFTED", 2)
    assert drifts["Topic"]["StackResourceDriftStatus"] == "DELETED"
    assert drifts["Logs"]["StackResourceDriftStatus"] == "MODIFIED"
    assert drifts["Logs"]["PropertyDifferences"] == [
        {
            "PropertyPath": "/RetentionInDays",
            "ExpectedValue": "7",
            "ActualValue": "30",
            "DifferenceType": "NOT_EQUAL",
        }
    ]

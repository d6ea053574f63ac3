"""The change-set report: recorded DescribeChangeSet pages in, Markdown (snapshot, parsed) and JSON out."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from markdown_it import MarkdownIt
from markdown_it.token import Token

from deployer import changeset, report, report_markdown
from deployer.guard import (
    CHANGE_SET,
    CONDITIONAL,
    POSSIBLE_REMOVAL,
    PREDICTION,
    REMOVAL,
    REPLACEMENT,
    Allowances,
    Danger,
    Prediction,
    find_dangers,
    stateful_resources,
)
from deployer.security_changes import SecurityChange
from tests.deploy.conftest import CS_ID, STACK, STACK_ID, stubbed_client

SNAPSHOT = Path(__file__).parent / "snapshots" / "change_set_report.md"
# UPDATE_SNAPSHOTS=1 pytest tests/deploy/test_report.py rewrites the checked-in file after a deliberate change.
REFRESH = os.environ.get("UPDATE_SNAPSHOTS") == "1"

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "StaticContentBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "site-prod"}},
        "KmsKey": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Snapshot", "Properties": {}},
        "Macro": {"Type": "AWS::CloudFormation::Stack", "Properties": {}},
    }
}
DEPLOYED: dict[str, Any] = {
    "Resources": {**TEMPLATE["Resources"], "AppLogGroup": {"Type": "AWS::Logs::LogGroup"}}
}
LONG_POLICY = json.dumps({"Statement": [{"Effect": "Allow", "Resource": f"arn:aws:s3:::b/{'x' * 300}"}]})


def detail(name: str, recreation: str, before: Any = None, after: Any = None, **extra: Any) -> dict[str, Any]:
    target: dict[str, Any] = {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation}
    if before is not None:
        target["BeforeValue"] = before
    if after is not None:
        target["AfterValue"] = after
    return {"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification", **extra}


def resource(action: str, logical_id: str, rtype: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Resource",
        "ResourceChange": {
            "Action": action,
            "LogicalResourceId": logical_id,
            "ResourceType": rtype,
            **fields,
        },
    }


# Page 1 names the bucket's BucketName change without values; page 2 repeats it with them (merged, not trusted
# from one read). Every Action, Replacement value, Scope and several PolicyAction values appear.
PAGES: list[list[dict[str, Any]]] = [
    [
        resource("Add", "Queue", "AWS::SQS::Queue", PolicyAction="Delete"),
        resource(
            "Modify",
            "StaticContentBucket",
            "AWS::S3::Bucket",
            Replacement="True",
            Scope=["Properties"],
            PolicyAction="ReplaceAndDelete",
            Details=[detail("BucketName", "Always")],
        ),
        resource(
            "Modify",
            "Topic",
            "AWS::SNS::Topic",
            Replacement="False",
            Scope=["Properties", "Tags"],
            Details=[
                detail(
                    "Tags",
                    "Never",
                    json.dumps([{"Key": "team", "Value": "web"}]),
                    json.dumps([{"Key": "team", "Value": "a|b"}]),
                ),
                detail("DisplayName", "Never", "Alerts", "Alerts for `prod`"),
            ],
        ),
    ],
    [
        resource(
            "Modify",
            "StaticContentBucket",
            "AWS::S3::Bucket",
            Replacement="True",
            Scope=["Properties"],
            Details=[detail("BucketName", "Always", "site-dev", "site-prod")],
        ),
        resource(
            "Modify",
            "KmsKey",
            "AWS::KMS::Key",
            Replacement="Conditional",
            Scope=["Properties"],
            PolicyAction="ReplaceAndRetain",
            Details=[detail("KeyPolicy", "Conditionally", LONG_POLICY, "{}")],
        ),
        resource("Remove", "AppLogGroup", "AWS::Logs::LogGroup", PolicyAction="Retain"),
    ],
    [
        resource("Import", "Table", "AWS::DynamoDB::Table", PolicyAction="Snapshot"),
        resource("Dynamic", "Macro", "AWS::CloudFormation::Stack", Replacement="Conditional"),
    ],
]


def recorded_change_set() -> changeset.ChangeSet:
    cfn = stubbed_client("cloudformation")
    with Stubber(cfn) as stub:
        for i, changes in enumerate(PAGES):
            params: dict[str, Any] = {"ChangeSetName": CS_ID, "IncludePropertyValues": True}
            page: dict[str, Any] = {
                "ChangeSetId": CS_ID,
                "ChangeSetName": "tap-deploy-update-x",
                "StackId": STACK_ID,
                "StackName": STACK,
                "Status": "CREATE_COMPLETE",
                "ExecutionStatus": "AVAILABLE",
                "Changes": changes,
            }
            if i:
                params["NextToken"] = f"page-{i}"
            if i + 1 < len(PAGES):
                page["NextToken"] = f"page-{i + 1}"
            stub.add_response("describe_change_set", page, params)
        described = changeset.describe(cfn, CS_ID)
        stub.assert_no_pending_responses()
    return described


def build_report() -> report.Report:
    described = recorded_change_set()
    changes = report.merge_changes(described.changes)
    predictions = [Prediction("StaticContentBucket", "AWS::S3::Bucket", ("BucketName",))]
    dangers = find_dangers(changes, predictions, stateful_resources(TEMPLATE, DEPLOYED))
    return report.Report(
        STACK,
        described.name,
        described.id,
        described.status,
        described.execution_status,
        changes,
        dangers,
        allowances=Allowances.of(["KmsKey"]),
        stack_id=STACK_ID,
        parameters=[report.ParameterChange("InstanceType", "t3.micro", "t3.small")],
        execute_command="deploy.py execute --stack-name app --change-set-name tap-deploy-update-x",
        notices=["the AMI changes from ami-1 to ami-2: the rolling update replaces every instance"],
        security=[
            SecurityChange(
                "WebSecurityGroup",
                "AWS::EC2::SecurityGroup",
                "SecurityGroupIngress",
                "ingress",
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"},
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                broadening=True,
                open_to_world=True,
            )
        ],
    )


def test_values_missing_from_one_page_are_taken_from_another() -> None:
    changes = report.merge_changes(recorded_change_set().changes)
    bucket = [c for c in changes if c["LogicalResourceId"] == "StaticContentBucket"]
    assert len(bucket) == 1
    (only,) = bucket[0]["Details"]
    assert (only["Target"]["BeforeValue"], only["Target"]["AfterValue"]) == ("site-dev", "site-prod")
    assert bucket[0]["PolicyAction"] == "ReplaceAndDelete"  # only the first page carried it


def test_summary_counts_every_action_and_each_danger_once() -> None:
    built = build_report()
    assert built.summary() == (
        "1 to add, 3 to modify, 1 to remove, 1 replaced, 3 dangerous, 1 to import, 1 dynamic, "
        "1 security change (1 broadening)"
    )
    found = {(d.logical_id, d.kind): d.sources for d in built.dangers}
    assert found == {
        ("AppLogGroup", "removal"): (CHANGE_SET,),
        ("KmsKey", "conditional replacement"): (CHANGE_SET,),
        ("StaticContentBucket", "replacement"): (CHANGE_SET, PREDICTION),
    }


def test_markdown_matches_the_checked_in_snapshot() -> None:
    text = report_markdown.to_markdown(build_report())
    if REFRESH:
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), (
        "UPDATE_SNAPSHOTS=1 refreshes it after a deliberate change"
    )


def _tables(tokens: list[Token]) -> list[list[list[str]]]:
    """Each table as rows of cell texts (header row first), read from the parser's tokens."""
    tables: list[list[list[str]]] = []
    row: list[str] = []
    inside = False
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in {"th_open", "td_open"}:
            inside = True
        elif token.type == "inline" and inside:
            row.append("".join(c.content for c in token.children or []))
            inside = False
        elif token.type == "tr_close":
            tables[-1].append(row)
    return tables


def test_markdown_renders_tables_details_and_dangers_first() -> None:
    text = report_markdown.to_markdown(build_report())
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables = _tables(tokens)
    dangers = tables[0]
    changes = next(t for t in tables if t[0][0] == "Action")
    security = next(t for t in tables if t[0][0] == "Resource" and "Broadening" in t[0])
    assert security[1][:5] == [
        "WebSecurityGroup",
        "AWS::EC2::SecurityGroup",
        "SecurityGroupIngress",
        "ingress (0.0.0.0/0 or ::/0)",
        "broadening",
    ]
    assert dangers[0] == ["Resource", "Type", "Danger", "Forced by", "Found by", "Allow with"]
    assert [
        "StaticContentBucket",
        "AWS::S3::Bucket",
        "replacement",
        "BucketName",
        "change set, offline prediction",
        "--allow-replacement StaticContentBucket",
    ] in dangers
    assert [
        "KmsKey",
        "AWS::KMS::Key",
        "conditional replacement",
        "KeyPolicy",
        "change set",
        "allowed",
    ] in dangers
    assert changes[0] == ["Action", "Logical id", "Type", "Replacement", "Scope", "PolicyAction"]
    assert {row[0] for row in changes[1:]} == {"Add", "Modify", "Remove", "Import", "Dynamic"}
    assert ["Modify", "Topic", "AWS::SNS::Topic", "False", "Properties, Tags", "–"] in changes
    topic = next(
        t
        for t in tables[2:]
        if t[0] == ["Property", "Requires recreation", "Change source", "Before", "After"]
        and any(r[0] == "DisplayName" for r in t)
    )
    # A pipe inside a value stays inside its cell instead of splitting the row.
    assert [
        "Tags",
        "Never",
        "DirectModification",
        '[{"Key": "team", "Value": "web"}]',
        '[{"Key": "team", "Value": "a|b"}]',
    ] in topic
    assert ["DisplayName", "Never", "DirectModification", "Alerts", "Alerts for 'prod'"] in topic
    details = [t.content for t in tokens if t.type == "html_block" and "<details>" in t.content]
    assert (
        len(details) == 3
    )  # one folded table of property changes per resource that has details (no fold: 7 rows)


def test_no_line_is_longer_than_github_renders_and_long_values_say_they_were_cut() -> None:
    text = report_markdown.to_markdown(build_report())
    assert max(len(line) for line in text.splitlines()) <= report_markdown.LINE_LIMIT
    key_row = next(line for line in text.splitlines() if line.startswith("| `KeyPolicy`"))
    assert report_markdown.TRUNCATED in key_row and "x" * 200 not in key_row


def test_long_change_lists_are_folded_and_the_whole_report_fits_a_comment() -> None:
    many = [
        {
            "Action": "Modify",
            "LogicalResourceId": f"Topic{i}",
            "ResourceType": "AWS::SNS::Topic",
            "Details": [detail("DisplayName", "Never", "a" * 500, "b" * 500)],
        }
        for i in range(400)
    ]
    text = report_markdown.to_markdown(
        report.Report(STACK, "cs", CS_ID, "CREATE_COMPLETE", "AVAILABLE", many)
    )
    assert len(text) <= report_markdown.REPORT_LIMIT + 1000
    assert "<details><summary>400 resource changes</summary>" in text
    assert "more resources with property changes" in text


def test_json_and_markdown_come_from_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    built = build_report()
    json_file, md_file = tmp_path / "cs.json", tmp_path / "cs.md"
    written = report_markdown.write(built, json_file=json_file, markdown_file=md_file)
    assert written == [str(json_file), str(md_file), "the GitHub step summary"]
    doc = json.loads(json_file.read_text())
    assert doc["Summary"]["text"] == built.summary() and f"**{built.summary()}**" in md_file.read_text()
    assert [(d["LogicalResourceId"], d["Allowed"]) for d in doc["Dangers"]] == [
        ("AppLogGroup", False),
        ("KmsKey", True),
        ("StaticContentBucket", False),
    ]
    assert summary.read_text().startswith("earlier step\n") and md_file.read_text() in summary.read_text()


def _danger(logical_id: str, kind: str, source: str = PREDICTION) -> Danger:
    return Danger(logical_id, "AWS::S3::Bucket", kind, (), (source,), "AWS::S3::Bucket")


def test_only_the_dangers_an_allowance_names_by_resource_and_kind_are_marked_allowed() -> None:
    dangers = [
        _danger("Archive", REPLACEMENT),
        _danger("Data", POSSIBLE_REMOVAL),
        _danger("Data", CONDITIONAL),
        _danger("Logs", REMOVAL),
    ]
    built = report.Report(
        STACK, "cs", CS_ID, "CREATE_COMPLETE", "AVAILABLE", [], dangers, Allowances.of(["Archive"], ["Data"])
    )
    rows = _tables(MarkdownIt("commonmark").enable("table").parse(report_markdown.to_markdown(built)))[0]
    assert [(row[0], row[2], row[5]) for row in rows[1:]] == [
        ("Archive", REPLACEMENT, "allowed"),
        ("Data", POSSIBLE_REMOVAL, "allowed"),
        ("Data", CONDITIONAL, "--allow-replacement Data"),
        ("Logs", REMOVAL, "--allow-removal Logs"),
    ]
    assert [d["Allowed"] for d in built.to_json()["Dangers"]] == [True, True, False, False]


def test_the_summary_counts_replacements_and_removals_only_the_prediction_found() -> None:
    # The change set lists nothing (a parameter-only update on some endpoints); the prediction is sure of these.
    predicted = [
        Prediction("StaticContentBucket", "AWS::S3::Bucket", ("BucketName",)),
        Prediction("Topic", "AWS::SNS::Topic", ("TopicName",)),
        Prediction("KmsKey", "AWS::KMS::Key", ("Condition CreateKmsKey is false",), removal=True),
        Prediction("Queue", "AWS::SQS::Queue", ("QueueName",), certain=False),
    ]
    dangers = find_dangers([], predicted, stateful_resources(TEMPLATE))
    built = report.Report(
        STACK, "cs", CS_ID, "CREATE_COMPLETE", "AVAILABLE", [], dangers, predictions=predicted
    )
    # The uncertain replacement of a queue (no data) is neither a danger nor a row, so it is not counted.
    assert built.summary() == "0 to add, 2 to modify, 1 to remove, 2 replaced, 2 dangerous"
    # Without the predictions, the dangers alone still count: the stateful replacement and removal.
    from_dangers = report.Report(STACK, "cs", CS_ID, "CREATE_COMPLETE", "AVAILABLE", [], dangers)
    assert from_dangers.summary() == "0 to add, 1 to modify, 1 to remove, 1 replaced, 2 dangerous"


def test_a_parameter_only_update_shows_in_its_table_every_resource_the_summary_counts() -> None:
    # The change set lists nothing; the prediction finds five stateful resources replaced or removed. The summary
    # counted them while the table said "No resource changes": every counted resource now has its row.
    predicted = [
        Prediction("StaticContentBucket", "AWS::S3::Bucket", ("BucketName",)),
        Prediction("KmsKey", "AWS::KMS::Key", ("Condition CreateKmsKey is false",), removal=True),
        Prediction("AppLogGroup", "AWS::Logs::LogGroup", ("LogGroupName",)),
        Prediction("Table", "AWS::DynamoDB::Table", ("TableName",)),
        Prediction("LogBucket", "AWS::S3::Bucket", ("Condition Logs",), certain=False, removal=True),
    ]
    dangers = find_dangers([], predicted, stateful_resources(TEMPLATE, DEPLOYED))
    assert len(dangers) == 5
    built = report.Report(
        STACK, "cs", CS_ID, "CREATE_COMPLETE", "AVAILABLE", [], dangers, predictions=predicted
    )
    text = report_markdown.to_markdown(built)
    assert "No resource changes" not in text
    tables = _tables(MarkdownIt("commonmark").enable("table").parse(text))
    changes = next(t for t in tables if t[0][0] == "Action")
    counts = built.counts()
    actions = [row[0].split(" ")[0] for row in changes[1:]]
    assert (
        (actions.count("Modify"), actions.count("Remove")) == (counts["modify"], counts["remove"]) == (3, 2)
    )
    assert sum(1 for row in changes[1:] if row[3] == "True") == counts["replaced"] == 3
    assert all("offline prediction" in row[0] for row in changes[1:])
    assert [row[0] for row in changes[1:] if row[1] == "LogBucket"] == [
        "Remove (possible, its Condition undecided offline; found by offline prediction; not listed by the "
        "change set)"
    ]
    assert {r["LogicalResourceId"] for r in built.to_json()["PredictedChanges"]} == {
        d.logical_id for d in dangers
    }


def test_the_report_names_account_region_changed_parameters_masked_secrets_and_the_execute_command() -> None:
    doc = {
        "Parameters": {"DbPassword": {"Type": "String", "NoEcho": True}, "InstanceType": {"Type": "String"}}
    }
    previous = [
        {"ParameterKey": "InstanceType", "ParameterValue": "t3.micro"},
        {"ParameterKey": "DbPassword", "ParameterValue": "****"},
        {"ParameterKey": "Env", "ParameterValue": "prod"},
    ]
    current = [
        {"ParameterKey": "InstanceType", "ParameterValue": "t3.small"},
        {"ParameterKey": "DbPassword", "ParameterValue": "hunter2"},
        {"ParameterKey": "Env", "UsePreviousValue": True},
    ]
    changed = report.parameter_changes(previous, current, doc)
    assert changed == [
        report.ParameterChange("DbPassword", "****", "****"),
        report.ParameterChange("InstanceType", "t3.micro", "t3.small"),
    ]
    command = "deploy.py execute --stack-name app --change-set-name cs --region eu-west-1"
    notice = "the AMI changes from ami-1 to ami-2: the rolling update replaces every instance"
    built = report.Report(
        STACK,
        "cs",
        CS_ID,
        "CREATE_COMPLETE",
        "AVAILABLE",
        [],
        stack_id=STACK_ID,
        parameters=changed,
        execute_command=command,
        notices=[notice],
    )
    text = report_markdown.to_markdown(built)
    assert "hunter2" not in text and "hunter2" not in json.dumps(built.to_json())
    assert "Stack `app` in account `123456789012`, region `us-east-1`." in text
    assert f"```\n{command}\n```" in text and notice in text
    rows = next(
        t for t in _tables(MarkdownIt("commonmark").enable("table").parse(text)) if t[0][0] == "Parameter"
    )
    assert rows[1:] == [["DbPassword", "****", "****"], ["InstanceType", "t3.micro", "t3.small"]]
    doc_json = built.to_json()
    assert (doc_json["Account"], doc_json["Region"], doc_json["ExecuteCommand"]) == (
        "123456789012",
        "us-east-1",
        command,
    )
    assert doc_json["Notices"] == [notice]
    assert doc_json["Parameters"][1] == {
        "ParameterKey": "InstanceType",
        "Before": "t3.micro",
        "After": "t3.small",
    }

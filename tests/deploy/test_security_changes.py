"""Security changes: what counts as broadening (decided with the policy evaluator), and the --require-approval gate
through the CLI, with and without a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deployer import cli
from deployer.clients import ClientFactory, ClientSettings
from deployer.errors import ExitCode
from deployer.prediction import Scope, parameter_values, pseudo_parameters
from deployer.security_changes import Approval, SecurityChange, needs_approval, security_changes
from emulator.server import MotoServer
from tests.deploy.conftest import STACK, STACK_ID, Harness

BUCKET_ARN = "arn:aws:s3:::site-prod"


def role(*statements: dict[str, Any], trust: dict[str, Any] | None = None) -> dict[str, Any]:
    trust = trust or {
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    return {
        "Parameters": {"Bucket": {"Type": "String", "Default": "site-prod"}},
        "Resources": {
            "InstanceRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
                    "Policies": [{"PolicyName": "Site", "PolicyDocument": {"Statement": list(statements)}}],
                },
            }
        },
    }


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


READ_SITE = allow("s3:GetObject", {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"})


def group(*ingress: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "WebSecurityGroup": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "web", "SecurityGroupIngress": list(ingress)},
            }
        }
    }


def https(cidr: str, **extra: Any) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": cidr, **extra}


def compare(old: dict[str, Any] | None, new: dict[str, Any]) -> list[SecurityChange]:
    pseudo = pseudo_parameters(STACK_ID, STACK)
    old_scope = Scope(parameter_values(old, {}), pseudo, old) if old else None
    return security_changes(old, old_scope, new, Scope(parameter_values(new, {}), pseudo, new))


DENY_GRANTS = {
    "Sid": "DenyGrantsNotForAwsResources",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "kms:CreateGrant",
    "Resource": "*",
    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "false"}},
}


def test_a_resource_that_leaves_the_stack_takes_its_own_deny_with_it_but_a_removed_policy_opens_what_it_guarded() -> (
    None
):
    key = {
        "Type": "AWS::KMS::Key",
        "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [DENY_GRANTS]}},
    }
    bucket_policy = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": "site",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": "arn:aws:s3:::site/*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    topic = {"Type": "AWS::SNS::Topic"}
    # The key leaves the stack (a brought key turns its Condition false): its key policy is not opened by that.
    key_gone = compare({"Resources": {"Key": key, "Topic": topic}}, {"Resources": {"Topic": topic}})
    assert [c.broadening for c in key_gone] == [False]
    # The bucket stays but its policy goes: the insecure-transport Deny no longer guards it.
    policy_gone = compare(
        {"Resources": {"Policy": bucket_policy, "Topic": topic}}, {"Resources": {"Topic": topic}}
    )
    assert [c.broadening for c in policy_gone] == [True]


# ---- what is broadening -----------------------------------------------------------------------------------------


def test_a_statement_narrower_than_the_deployed_one_is_a_change_but_not_broadening() -> None:
    narrower = allow("s3:GetObject", f"{BUCKET_ARN}/public/*")
    (change,) = compare(role(READ_SITE), role(narrower))
    assert change.where == "Policies[Site]" and change.after == narrower
    assert change.before == allow("s3:GetObject", f"{BUCKET_ARN}/*"), "before is resolved with its parameters"
    assert not change.broadening
    assert needs_approval([change], Approval.BROADENING) == []
    assert needs_approval([change], Approval.ANY_CHANGE) == [change]


@pytest.mark.parametrize(
    "wider",
    [
        allow("s3:*", f"{BUCKET_ARN}/*"),  # more actions
        allow("s3:GetObject", "*"),  # more resources
        allow(["s3:GetObject", "s3:PutObject"], f"{BUCKET_ARN}/*"),  # one action more
    ],
)
def test_a_statement_that_lets_more_in_is_broadening(wider: dict[str, Any]) -> None:
    (change,) = compare(role(READ_SITE), role(wider))
    assert change.broadening and change.before is not None


def test_dropping_a_condition_broadens_and_adding_one_narrows() -> None:
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    with_condition = allow("s3:GetObject", f"{BUCKET_ARN}/*", Condition=tls)
    assert not compare(role(READ_SITE), role(with_condition))[0].broadening
    assert compare(role(with_condition), role(READ_SITE))[0].broadening


def test_a_wider_trust_policy_is_broadening() -> None:
    anyone = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    (change,) = compare(role(READ_SITE), role(READ_SITE, trust=anyone))
    assert change.where == "AssumeRolePolicyDocument" and change.broadening


def test_a_removed_deny_broadens_an_added_deny_does_not() -> None:
    deny = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    assert compare(role(READ_SITE), role(READ_SITE, deny))[0].broadening is False
    assert compare(role(READ_SITE, deny), role(READ_SITE))[0].broadening is True


def test_key_bucket_and_topic_policies_are_compared() -> None:
    old = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}}},
            "SitePolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"PolicyDocument": {"Statement": []}},
            },
            "TopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"PolicyDocument": {"Statement": []}},
            },
        }
    }
    grant = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.amazonaws.com"},
        "Action": "kms:*",
        "Resource": "*",
    }
    new = json.loads(json.dumps(old))
    new["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"] = [grant]
    new["Resources"]["SitePolicy"]["Properties"]["PolicyDocument"]["Statement"] = [grant]
    new["Resources"]["TopicPolicy"]["Properties"]["PolicyDocument"]["Statement"] = [grant]
    found = {(c.logical_id, c.where): c.broadening for c in compare(old, new)}
    assert found == {
        ("Key", "KeyPolicy"): True,
        ("SitePolicy", "PolicyDocument"): True,
        ("TopicPolicy", "PolicyDocument"): True,
    }


def test_an_ingress_rule_open_to_the_world_is_called_out_and_a_narrower_cidr_is_not_broadening() -> None:
    (opened,) = compare(group(https("10.0.0.0/16")), group(https("0.0.0.0/0")))
    assert opened.broadening and opened.open_to_world and opened.kind == "ingress"
    (narrowed,) = compare(group(https("10.0.0.0/16")), group(https("10.0.1.0/24")))
    assert not narrowed.broadening and not narrowed.open_to_world
    ipv6 = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0"}
    assert compare(group(), group(ipv6))[0].open_to_world


def test_a_standalone_egress_rule_resource_is_a_security_change() -> None:
    rule = {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {"GroupId": "sg-1", **https("0.0.0.0/0")}}
    (change,) = compare({"Resources": {}}, {"Resources": {"AllOut": rule}})
    assert change.kind == "egress" and change.before is None and change.broadening and change.open_to_world


def test_an_unchanged_template_has_no_security_changes() -> None:
    assert compare(role(READ_SITE), role(READ_SITE)) == []
    assert compare(group(https("0.0.0.0/0")), group(https("0.0.0.0/0"))) == []


# ---- the gate through the CLI -----------------------------------------------------------------------------------

WIDER = role(allow("s3:*", "*"))
NARROWER = role(allow("s3:GetObject", f"{BUCKET_ARN}/public/*"))
CHANGE = {
    "Action": "Modify",
    "LogicalResourceId": "InstanceRole",
    "ResourceType": "AWS::IAM::Role",
    "Replacement": "False",
    "Scope": ["Properties"],
}


def _deploy_until_review(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE", Capabilities=["CAPABILITY_IAM"])
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[CHANGE]])
    harness.expect_deployed_template(role(READ_SITE))


def _deploy(harness: Harness, doc: dict[str, Any], *extra: str, command: str = "deploy") -> int:
    template = harness.template(doc, "role.json")
    return harness.run(
        command,
        *("--stack-name", STACK, "--template-file", template, "--skip-preflight"),
        *("--capabilities", "CAPABILITY_IAM", *extra),
    )


def test_without_a_terminal_a_broadening_change_is_refused_with_exit_14_and_the_change_set_kept(
    harness: Harness,
) -> None:
    _deploy_until_review(harness)
    report = harness.tmp / "report.md"
    assert _deploy(harness, WIDER, "--report-file", str(report)) == ExitCode.APPROVAL_REQUIRED
    assert harness.mutating_calls == ["CreateChangeSet"]
    error = harness.errors.strip()
    assert error.count("\n") == 0 and "--require-approval never" in error
    assert "deploy.py execute --stack-name app --change-set-name tap-deploy-update-x" in error
    assert "SECURITY InstanceRole Policies[Site]: statement changed, broadening" in harness.output
    assert "#### :lock: Security changes" in report.read_text()


def test_a_narrower_statement_is_not_broadening_and_deploys_without_asking(harness: Harness) -> None:
    _deploy_until_review(harness)
    harness.expect_successful_execution()
    assert _deploy(harness, NARROWER) == ExitCode.SUCCESS, harness.errors
    assert "not broadening" in harness.output


def test_any_change_refuses_even_a_narrower_statement_without_a_terminal(harness: Harness) -> None:
    _deploy_until_review(harness)
    code = _deploy(harness, NARROWER, "--require-approval", "any-change")
    assert code == ExitCode.APPROVAL_REQUIRED
    assert harness.mutating_calls == ["CreateChangeSet"]


@pytest.mark.parametrize(("answer", "expected"), [("y", ExitCode.SUCCESS), ("n", ExitCode.CHANGES_PRESENT)])
def test_on_a_terminal_a_broadening_change_is_asked_about(
    harness: Harness, answer: str, expected: ExitCode
) -> None:
    harness.stdin_is_tty = True
    harness.confirm_answer = answer
    _deploy_until_review(harness)
    if answer == "y":
        harness.expect_successful_execution()
    assert _deploy(harness, WIDER, "--yes") == expected, harness.errors
    assert harness.prompts[0] == "Approve the 1 security change(s) listed above? [y/N] "
    assert len(harness.prompts) == 1, "--yes answers the execute question only"
    assert ("ExecuteChangeSet" in harness.mutating_calls) is (answer == "y")


def test_never_executes_a_broadening_change_without_asking(harness: Harness) -> None:
    _deploy_until_review(harness)
    harness.expect_successful_execution()
    assert _deploy(harness, WIDER, "--require-approval", "never") == ExitCode.SUCCESS, harness.errors


def test_plan_reports_security_changes_without_refusing(harness: Harness) -> None:
    _deploy_until_review(harness)
    changeset_file = harness.tmp / "plan.json"
    code = _deploy(harness, WIDER, "--changeset-file", str(changeset_file), command="plan")
    assert code == ExitCode.CHANGES_PRESENT
    (change,) = json.loads(changeset_file.read_text())["SecurityChanges"]
    assert change["Broadening"] is True and change["After"] == allow("s3:*", "*")


def _execute_until_review(harness: Harness, doc: dict[str, Any]) -> None:
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_change_set_pages([[CHANGE]], name="tap-deploy-update-x", stack_name=STACK)
    harness.expect_change_set_template(doc)
    harness.expect_deployed_template(role(READ_SITE))


def test_execute_applies_the_same_gate_without_a_terminal(harness: Harness) -> None:
    _execute_until_review(harness, WIDER)
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-update-x")
    assert code == ExitCode.APPROVAL_REQUIRED
    assert harness.mutating_calls == []


def test_execute_asks_on_a_terminal_and_a_no_keeps_the_change_set(harness: Harness) -> None:
    harness.stdin_is_tty = True
    harness.confirm_answer = "n"
    _execute_until_review(harness, WIDER)
    code = harness.run("execute", "--stack-name", STACK, "--change-set-name", "tap-deploy-update-x")
    assert code == ExitCode.CHANGES_PRESENT
    assert harness.mutating_calls == [] and len(harness.prompts) == 1


# ---- against moto's server: the deployed template read back, the gate decided on it ------------------------------


def _sg_template(cidr: str) -> dict[str, Any]:
    doc = group(https(cidr))
    doc["Resources"]["WebSecurityGroup"]["Properties"]["VpcId"] = {"Ref": "Vpc"}
    doc["Resources"]["Vpc"] = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}
    return doc


def _run_on_moto(moto: MotoServer, tmp_path: Path, doc: dict[str, Any], *extra: str) -> int:
    path = tmp_path / "sg.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    argv = ["deploy", "--stack-name", "sg", "--template-file", str(path), "--endpoint-url", moto.endpoint]
    fast = ["--poll-interval", "0", "--max-poll-interval", "0", "--timeout", "30s", "--skip-preflight"]
    return cli.main([*argv, *fast, *extra], cli.Environment(stdin_is_tty=False, stdout_is_tty=False))


def test_on_the_emulator_a_rule_opened_to_the_world_stops_with_exit_14_and_a_narrower_one_deploys(
    moto: MotoServer, tmp_path: Path
) -> None:
    assert _run_on_moto(moto, tmp_path, _sg_template("10.0.0.0/16"), "--require-approval", "never") == 0
    assert _run_on_moto(moto, tmp_path, _sg_template("0.0.0.0/0")) == ExitCode.APPROVAL_REQUIRED
    assert _run_on_moto(moto, tmp_path, _sg_template("10.0.1.0/24")) == 0
    # moto does not apply a changed ingress rule to the group itself: what was executed is read from the stack.
    cfn = ClientFactory(ClientSettings(endpoint_url=moto.endpoint)).cloudformation()
    assert cfn.describe_stacks(StackName="sg")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert "10.0.1.0/24" in json.dumps(cfn.get_template(StackName="sg")["TemplateBody"])

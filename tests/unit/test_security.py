"""Requirements 6 (KMS), 9 (IAM) and 10 (security groups), plus tags (12) and Retain (13) for them."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest

from templates import naming
from templates.parameters import CREATE_KMS_KEY
from templates.tags import TAG_KEYS
from templates.tap_stack import TapStack
from tests.template_helpers import props, refs_in, resources_of_type
from tests.unit._fragment import as_list, statements, tag_keys, taggable_types

SLR_ARN = (
    "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/autoscaling.amazonaws.com/"
    "AWSServiceRoleForAutoScaling"
)
KEY_ARN = {"Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KmsKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}


def _key_statements(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(props(tpl, "KmsKey")["KeyPolicy"])}


def _rules(tpl: dict[str, Any], group: str, direction: str) -> list[dict[str, Any]]:
    return list(props(tpl, group).get(f"SecurityGroup{direction}", []))


def _sub(value: Any) -> str:
    assert isinstance(value, dict) and "Fn::Sub" in value, f"expected a Fn::Sub, got {value!r}"
    return str(value["Fn::Sub"])


def _render(value: Any) -> str:
    return naming.render(_sub(value).replace("${AWS::Partition}", "aws"), "dev")


# --- KMS (requirement 6) ------------------------------------------------------------------------------------


def test_stack_key_rotates_and_is_retained_unless_its_create_rolls_back(tpl: dict[str, Any]) -> None:
    key = tpl["Resources"]["KmsKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert key["Properties"]["Description"]


def test_key_and_alias_exist_only_when_no_key_arn_is_given(tpl: dict[str, Any]) -> None:
    assert tpl["Parameters"]["KmsKeyArn"]["Default"] == ""
    assert tpl["Conditions"][CREATE_KMS_KEY] == {"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}
    assert tpl["Resources"]["KmsKey"]["Condition"] == CREATE_KMS_KEY
    alias = tpl["Resources"]["KmsKeyAlias"]
    assert alias["Condition"] == CREATE_KMS_KEY
    assert alias["Properties"] == {
        "AliasName": {"Fn::Sub": naming.KMS_ALIAS},
        "TargetKeyId": {"Ref": "KmsKey"},
    }


def test_key_arn_is_the_stack_key_or_the_given_one(tpl: dict[str, Any], wired: TapStack) -> None:
    assert wired.encryption.key_arn.to_dict() == KEY_ARN
    assert len(resources_of_type(tpl, "AWS::KMS::Key")) == 1


def test_key_policy_enables_iam_policies_of_the_account(tpl: dict[str, Any]) -> None:
    root = _key_statements(tpl)["EnableIamPolicies"]
    assert root["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert root["Action"] == ["kms:*"]
    assert "Condition" not in root


def test_key_policy_lets_the_autoscaling_service_linked_role_use_the_key_for_ebs(tpl: dict[str, Any]) -> None:
    policy = _key_statements(tpl)
    use = policy["AllowAutoScalingServiceLinkedRoleUse"]
    assert set(use["Action"]) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    }
    grants = policy["AllowAutoScalingServiceLinkedRoleGrants"]
    assert grants["Action"] == ["kms:CreateGrant"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    for statement in (use, grants):
        assert statement["Condition"]["StringEquals"] == {
            "aws:PrincipalArn": {"Fn::Sub": SLR_ARN},
            "aws:PrincipalAccount": {"Ref": "AWS::AccountId"},
        }


def test_key_policy_never_names_a_principal_that_may_not_exist_yet(tpl: dict[str, Any]) -> None:
    # Key creation fails when a named principal does not exist, and in a fresh account the service-linked role
    # does not.
    for statement in statements(props(tpl, "KmsKey")["KeyPolicy"]):
        aws_principals = as_list(statement["Principal"].get("AWS", []))
        for principal in aws_principals:
            assert principal == "*" or _sub(principal).endswith(":root"), statement["Sid"]
        if "*" in aws_principals and statement["Effect"] == "Allow":
            # A wildcard principal is only acceptable pinned to one role of this account.
            assert statement["Condition"]["StringEquals"]["aws:PrincipalArn"] == {"Fn::Sub": SLR_ARN}
            assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == {"Ref": "AWS::AccountId"}


def test_key_policy_lets_cloudwatch_logs_encrypt_the_stack_log_groups_only(tpl: dict[str, Any]) -> None:
    logs = _key_statements(tpl)["AllowCloudWatchLogsForStackLogGroups"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert set(logs["Action"]) == {
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:Describe*",
    }
    pattern = _render(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    for group in (naming.FLOW_LOG_GROUP, naming.APP_LOG_GROUP, naming.ACCESS_LOG_GROUP):
        arn = "arn:aws:logs:us-east-1:111122223333:log-group:" + naming.render(group, "dev")
        assert fnmatchcase(arn, pattern), f"{arn} is not covered by {pattern}"
    other_env = "arn:aws:logs:us-east-1:111122223333:log-group:" + naming.render(
        naming.FLOW_LOG_GROUP, "prod"
    )
    assert not fnmatchcase(other_env, pattern)


def test_key_policy_lets_cloudwatch_alarms_publish_to_the_encrypted_alarm_topic(tpl: dict[str, Any]) -> None:
    alarms = _key_statements(tpl)["AllowCloudWatchAlarmsToPublishToAlarmTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    topic = _render(alarms["Condition"]["ArnLike"]["kms:EncryptionContext:aws:sns:topicArn"])
    assert topic == "arn:aws:sns:us-east-1:111122223333:" + naming.render(naming.ALARM_TOPIC, "dev")


def test_key_policy_lets_cloudfront_read_without_referencing_the_distribution(tpl: dict[str, Any]) -> None:
    cloudfront = _key_statements(tpl)["AllowCloudFrontOriginAccessControlRead"]
    assert cloudfront["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert cloudfront["Action"] == ["kms:Decrypt"]
    assert cloudfront["Condition"]["StringLike"] == {
        "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"}
    }
    # The key policy names no resource at all, so the key can never be part of a dependency cycle.
    named = {r for r in refs_in(props(tpl, "KmsKey")["KeyPolicy"]) if not r.startswith("AWS::")}
    assert named <= set(tpl["Parameters"]), (
        f"the key policy references resources {named - set(tpl['Parameters'])}"
    )


# --- Security groups (requirement 10) -----------------------------------------------------------------------


def test_alb_accepts_http_and_https_from_anywhere(tpl: dict[str, Any]) -> None:
    ingress = _rules(tpl, "AlbSecurityGroup", "Ingress")
    assert sorted((r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIp")) for r in ingress) == [
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
    ]


def test_instances_accept_only_http_from_the_alb_security_group(tpl: dict[str, Any]) -> None:
    (rule,) = _rules(tpl, "InstanceSecurityGroup", "Ingress")
    assert rule["IpProtocol"] == "tcp" and rule["FromPort"] == rule["ToPort"] == 80
    assert refs_in(rule["SourceSecurityGroupId"]) == {"AlbSecurityGroup"}
    assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule)


def test_every_security_group_rule_has_a_description(tpl: dict[str, Any]) -> None:
    groups = resources_of_type(tpl, "AWS::EC2::SecurityGroup")
    assert len(groups) == 2
    for name in groups:
        for direction in ("Ingress", "Egress"):
            for rule in _rules(tpl, name, direction):
                assert rule.get("Description"), f"{name} {direction} rule {rule} has no description"
    assert not resources_of_type(tpl, "AWS::EC2::SecurityGroupIngress"), "rules stay inline"


def test_security_groups_have_explicit_narrow_egress(tpl: dict[str, Any]) -> None:
    (alb_out,) = _rules(tpl, "AlbSecurityGroup", "Egress")
    assert (alb_out["IpProtocol"], alb_out["FromPort"], alb_out["CidrIp"]) == ("tcp", 80, {"Ref": "VpcCidr"})
    (web_out,) = _rules(tpl, "InstanceSecurityGroup", "Egress")
    assert (web_out["IpProtocol"], web_out["FromPort"], web_out["ToPort"]) == ("tcp", 443, 443)
    # The ALB group must not reference the instance group, which references it: that would be a cycle.
    assert "InstanceSecurityGroup" not in refs_in(props(tpl, "AlbSecurityGroup"))
    for name in ("AlbSecurityGroup", "InstanceSecurityGroup"):
        assert props(tpl, name)["VpcId"] == {"Ref": "Vpc"}


def test_open_alb_ingress_is_suppressed_for_checkov_with_a_reason(tpl: dict[str, Any]) -> None:
    skips = tpl["Resources"]["AlbSecurityGroup"]["Metadata"]["checkov"]["skip"]
    assert [s["id"] for s in skips] == ["CKV_AWS_260"]
    assert all(len(s["comment"]) > 40 for s in skips)


# --- IAM (requirement 9) ------------------------------------------------------------------------------------


def test_instance_role_is_assumable_by_ec2_only_and_unnamed(tpl: dict[str, Any]) -> None:
    role = props(tpl, "InstanceRole")
    (trust,) = statements(role["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole"]
    assert "RoleName" not in role, "a named role would need CAPABILITY_NAMED_IAM"


def test_instance_role_has_only_the_ssm_managed_policy(tpl: dict[str, Any]) -> None:
    """CloudWatchAgentServerPolicy grants logs:* actions and cloudwatch:PutMetricData on every resource; the
    inline policy grants the agent the stack's log groups and namespace instead."""
    role = props(tpl, "InstanceRole")
    assert [_sub(arn) for arn in role["ManagedPolicyArns"]] == [
        "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
    ]


def _granted(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    granted: dict[str, dict[str, Any]] = {}
    for policy in props(tpl, "InstanceRole")["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            for action in as_list(statement["Action"]):
                granted[action] = statement
    return granted


def test_instance_role_grants_what_the_boot_script_and_agent_use_scoped_to_the_stack(
    tpl: dict[str, Any],
) -> None:
    """The boot script reads no bucket and decrypts nothing, so no s3:* or kms:* (EBS encryption uses the Auto
    Scaling service-linked role). CloudWatch Logs actions on the stack's log groups only; PutMetricData has no
    resource-level permissions, so the cloudwatch:namespace condition key limits it to the agent's namespace
    (CloudWatch User Guide, "Using condition keys to limit access to CloudWatch namespaces");
    cloudformation:SignalResource takes the stack ARN as resource, which IAM cannot narrow to a logical id."""
    granted = _granted(tpl)
    assert set(granted) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
        "cloudwatch:PutMetricData",
        "ec2:DescribeTags",
        "cloudformation:SignalResource",
    }
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"):
        assert granted[action]["Resource"] == [
            {"Fn::GetAtt": ["ApplicationLogGroup", "Arn"]},
            {"Fn::GetAtt": ["AccessLogGroup", "Arn"]},
        ]
    metrics = granted["cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": {"Fn::Sub": naming.METRICS_NAMESPACE}}
    }
    assert granted["cloudformation:SignalResource"]["Resource"] == [{"Ref": "AWS::StackId"}]
    user_data = json.dumps(props(tpl, "LaunchTemplate")["LaunchTemplateData"]["UserData"])
    assert "aws s3" not in user_data and "aws kms" not in user_data and "s3api" not in user_data


# Actions whose Service Authorization Reference entry lists no resource type: "*" is the only resource they take.
NO_RESOURCE_LEVEL_PERMISSIONS = {"cloudwatch:PutMetricData", "ec2:DescribeTags"}


@pytest.mark.parametrize("role", ["InstanceRole", "FlowLogRole"])
def test_inline_policies_have_no_wildcard_action_or_resource(tpl: dict[str, Any], role: str) -> None:
    for policy in props(tpl, role)["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{role}: {statement}"
            if set(as_list(statement["Action"])) <= NO_RESOURCE_LEVEL_PERMISSIONS:
                continue
            assert "*" not in as_list(statement["Resource"]), f"{role}: {statement}"
            assert "NotAction" not in statement and "NotResource" not in statement


def test_instance_profile_carries_the_instance_role(tpl: dict[str, Any], wired: TapStack) -> None:
    sec = wired.security
    assert props(tpl, "InstanceProfile")["Roles"] == [{"Ref": "InstanceRole"}]
    assert sec.instance_role.to_dict() == {"Ref": "InstanceRole"}
    assert sec.instance_profile.to_dict() == {"Ref": "InstanceProfile"}
    assert sec.alb_security_group.to_dict() == {"Ref": "AlbSecurityGroup"}
    assert sec.instance_security_group.to_dict() == {"Ref": "InstanceSecurityGroup"}


# --- Tags (requirement 12) ----------------------------------------------------------------------------------


def test_every_taggable_security_resource_has_the_four_tags(tpl: dict[str, Any]) -> None:
    security = {"AWS::KMS::Key", "AWS::EC2::SecurityGroup", "AWS::IAM::Role"}
    checked = 0
    for name, res in tpl["Resources"].items():
        if res["Type"] in security:
            assert res["Type"] in taggable_types()
            assert set(TAG_KEYS) <= tag_keys(res), f"{name} lacks {set(TAG_KEYS) - tag_keys(res)}"
            checked += 1
    assert checked == 5  # the key, two groups, the instance role and the flow log role

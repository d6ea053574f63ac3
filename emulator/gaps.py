"""The one place for workarounds of moto's gaps (the emulator's gap table). Each cites the gap it closes.

The product code never works around the emulator. Where a gap can be closed by teaching the emulator what AWS
does, `patch_moto` does it (emulator.server applies it to every server it starts, so every tier, the benchmark
and the demo see the same emulator); where it cannot, a test adapts what it sends or expects, here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.core.common_models import CloudFormationModel
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.route_tables import RouteTable
from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
from moto.kms.models import Key

if TYPE_CHECKING:
    from emulator.server import MotoServer


def endpoint_for_template_url(server: MotoServer) -> str:
    """moto-notes "Works": TemplateURL is only fetched when the URL's host is `localhost` (not 127.0.0.1).

    deploy.py builds the TemplateURL from the S3 endpoint it was given, as it does for AWS; so the S3 upload test
    passes the same loopback server under the name `localhost` instead of changing the product.
    """
    return f"http://localhost:{server.port}"


def template_body_without_changes(doc: dict[str, Any], *, reformatted: bool) -> str:
    """moto-notes "Gaps seen": an identical body gives the ValidationError "No updates are to be performed." from
    CreateChangeSet; a re-formatted body gives a FAILED change set "The submitted information didn't contain
    changes". AWS itself uses both wordings in different cases; re-formatting reaches the second one in moto.
    (moto only raises the first when the request carries Parameters, so the template must declare some.)
    """
    return json.dumps(doc, indent=4 if reformatted else 1)


# --- Teaching the emulator (applied to every server emulator.server starts) ------------------------------------------------
# The integration tier deploys output/tap-stack.json byte for byte. Instead of changing the template, the emulator,
# which runs in the test process (moto.server.ThreadedMotoServer), is taught the few CloudFormation behaviours the
# stack needs, and what it still cannot show is listed with the unit test that covers it.

# Resource types the stack uses that moto's CloudFormation does not build ("Not created (silently skipped)" in
# moto-notes). Registered as placeholders that answer Ref and Fn::GetAtt, so resources that refer to them (the
# dashboard names the alarms' ARNs) can be created.
PLACEHOLDER_TYPES = (
    "AWS::AutoScaling::ScalingPolicy",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
)

# What the emulator does not build or keep -> the unit test that asserts it on the template instead.
NOT_CHECKABLE_IN_THE_EMULATOR = {
    "target tracking policies (ScalingPolicy not built)": (
        "tests.unit.test_compute::test_request_count_resource_label_is_the_join_of_the_two_full_names"
    ),
    "CloudFront distribution with OAC (not built)": (
        "tests.unit.test_storage::test_distribution_reads_the_bucket_through_origin_access_control"
    ),
    "CPU alarm threshold and action (Alarm not built)": (
        "tests.unit.test_monitoring::test_cpu_alarm_fires_above_80_percent_by_default_and_notifies_the_topic"
    ),
    "bucket policies: TLS only (BucketPolicy not built)": (
        "tests.unit.test_storage::test_bucket_policies_deny_insecure_transport"
    ),
    "bucket policies: CloudFront-only read (BucketPolicy not built)": (
        "tests.unit.test_storage::test_static_bucket_is_readable_only_by_this_distribution"
    ),
    "SNS topic policy for CloudWatch (TopicPolicy not built)": (
        "tests.unit.test_monitoring::test_topic_policy_lets_cloudwatch_alarms_of_this_account_publish"
    ),
    "MapPublicIpOnLaunch false (ignored)": "tests.unit.test_network::test_map_public_ip_on_launch_is_false_on_every_subnet",
    "explicit security-group egress (moto keeps allow-all)": (
        "tests.unit.test_security::test_security_groups_have_explicit_narrow_egress"
    ),
    "public access block (ignored)": "tests.unit.test_storage::test_buckets_block_all_public_access",
    "ownership controls (ignored)": "tests.unit.test_storage::test_static_bucket_ownership_is_bucket_owner_enforced",
    "versioning and lifecycle (ignored)": (
        "tests.unit.test_storage::test_buckets_are_versioned_with_a_lifecycle_for_old_versions"
    ),
    "ALB attributes (ignored)": (
        "tests.unit.test_load_balancer::test_alb_attributes_drop_invalid_headers_mitigate_desync_log_and_protect"
    ),
    "IAM managed policies (ignored)": (
        "tests.unit.test_security::test_instance_role_has_cloudwatch_agent_and_ssm_managed_policies"
    ),
    "log group KMS key (ignored)": (
        "tests.unit.test_security::test_key_policy_lets_cloudwatch_logs_encrypt_the_stack_log_groups_only"
    ),
}

_placeholders: list[
    type[CloudFormationModel]
] = []  # keeps the registered classes alive (subclass list is weak)


def _placeholder(resource_type: str) -> type[CloudFormationModel]:
    class Placeholder(CloudFormationModel):
        # moto's model metaclass derives a service name from the module path.
        __module__ = "emulator.gaps"

        def __init__(self, name: str) -> None:
            self.name = name

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return resource_type

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Placeholder:
            return cls(resource_name)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            # moto calls this with keyword arguments only (moto.cloudformation.parsing.parse_and_update_resource);
            # a signature that does not name account_id and region_name made every update of a placeholder
            # (an alarm threshold, a scaling target) fail with HTTP 500 halfway through the change set.
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            return None

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return f"emulated-{self.name}-{attribute_name}"

        @property
        def physical_resource_id(self) -> str:
            return self.name

    Placeholder.__name__ = "Placeholder" + resource_type.replace("::", "")
    return Placeholder


def _load_balancer_full_name(original: Any) -> Any:
    # moto-notes: GetAtt LoadBalancerFullName is not implemented; AWS returns the ARN's tail: app/<name>/<id>.
    def get_cfn_attribute(self: FakeLoadBalancer, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]
        return original(self, attribute_name)

    return get_cfn_attribute


def _target_group_attribute(self: FakeTargetGroup, attribute_name: str) -> Any:
    # moto-notes: GetAtt TargetGroupFullName is not implemented (moto's target group has no GetAtt at all, so the
    # server answers HTTP 500); AWS documents these four attributes.
    values = {
        "TargetGroupFullName": self.arn.rsplit(":", 1)[1],
        "TargetGroupName": self.name,
        "TargetGroupArn": self.arn,
        "LoadBalancerArns": list(getattr(self, "load_balancer_arns", [])),
    }
    if attribute_name not in values:
        raise UnformattedGetAttTemplateException()
    return values[attribute_name]


def _kms_key_from_cloudformation(original: Any) -> Any:
    # moto-notes: KMS::Key with Tags answers HTTP 500 (CloudFormation's {"Key","Value"} reach a tagger expecting
    # {"TagKey","TagValue"}), and a KeyPolicy object is stored so that DescribeKey later fails. AWS accepts both.
    def create(
        cls: type[Key], resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
    ) -> Key:
        adapted = json.loads(json.dumps(cloudformation_json))
        properties = adapted["Properties"]
        if isinstance(properties.get("KeyPolicy"), dict):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        properties["Tags"] = [
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])
        ]
        key: Key = original(cls, resource_name, adapted, *args, **kwargs)
        return key

    return classmethod(create)


def _ssm_parameter_keeping_previous_value(original: Any) -> Any:
    # On an update with UsePreviousValue for an AWS::SSM::Parameter::Value<...> parameter, moto feeds the value it
    # resolved last time (an AMI id) back into the SSM lookup and fails with AttributeError (HTTP 500). AWS
    # resolves the parameter's SSM path again; here the path is no longer known, so the resolved value is kept.
    def parse_ssm_parameter(self: Any, value: str, value_type: str) -> Any:
        if not value.startswith("/"):
            return value
        return original(self, value, value_type)

    return parse_ssm_parameter


def _diff_against_every_previous_value(original: Any) -> Any:
    # moto decides which resources a parameter change touches by comparing the new values with only the parameters
    # given explicitly last time. A parameter the stack took by default and that deploy.py now sends as
    # UsePreviousValue therefore counts as changed, every resource using it is "modified", and moto, which cannot
    # update a load balancer, fails the update. AWS compares with the previous resolved values; so does this.
    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> Any:
        if not parameters:
            return original(self, other_template, parameters)
        explicit = self.input_parameters
        self.input_parameters = {**self.resolved_parameters, **explicit}
        try:
            return original(self, other_template, parameters)
        finally:
            self.input_parameters = explicit

    return build_resource_diff


def _has_parameters_with_previous_values(self: Any, other: dict[str, Any]) -> bool:
    # The same gap in the "no changes" test of CreateChangeSet: moto compares the new values with only the
    # parameters given explicitly last time, so a re-run that sends UsePreviousValue for defaulted parameters never
    # gets AWS's FAILED "didn't contain changes" change set. Compare with every previous resolved value instead.
    previous = {**self.stack_parameters, **self.parameters}
    return set(self.parameters) <= set(other) and all(previous.get(k) == v for k, v in other.items())


def _delete_route_table(self: RouteTable, account_id: str, region_name: str) -> None:
    # moto-notes: deleting the full stack raises DependencyViolation. moto's route table has no CloudFormation
    # delete at all, so its VPC keeps "dependencies" forever; AWS deletes the table with the stack.
    self.ec2_backend.delete_route_table(self.id)


def _delete_nat_gateway(self: NatGateway, account_id: str, region_name: str) -> None:
    # Likewise, moto never deletes a NAT gateway created by CloudFormation.
    self.ec2_backend.delete_nat_gateway(self.id)


def _apply_with_outputs(original: Any) -> Any:
    # moto-notes: a stack created through a change set has NO Outputs (moto builds the outputs before the change
    # set creates any resource and never again). AWS evaluates them once the resources exist; so does this.
    def apply(self: ChangeSet) -> None:
        original(self)
        self.stack.template = self.template
        self.stack._parse_template()
        self.stack.output_map = self.stack._create_output_map()

    return apply


def _execute_registering_exports(original: Any) -> Any:
    # ...and registers the stack's exports with the account, as create_stack does, so that ListExports shows them
    # and DeleteStack (which removes them) does not fail with KeyError (HTTP 500).
    def execute_change_set(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        for stack in self.stacks.values():
            for export in stack.exports:
                self.exports[export.name] = export
        return result

    return execute_change_set


def _outputs_unless_deleted(original: Any) -> Any:
    # ...and, once those outputs exist, DescribeStacks of the deleted stack (by id) evaluates them against resources
    # that are gone (HTTP 500). AWS shows a deleted stack without outputs.
    def outputs(self: Stack) -> Any:
        return None if self.status == "DELETE_COMPLETE" else original.fget(self)

    return property(outputs)


_patched = False


def patch_moto() -> None:
    """Teach the in-process moto server what AWS does where the stack and deploy.py need it; idempotent."""
    global _patched
    if _patched:
        return
    _placeholders.extend(_placeholder(t) for t in PLACEHOLDER_TYPES)
    target_group_attributes = ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns")
    patches: list[tuple[Any, str, Any]] = [
        (FakeLoadBalancer, "get_cfn_attribute", _load_balancer_full_name(FakeLoadBalancer.get_cfn_attribute)),
        (FakeTargetGroup, "has_cfn_attr", classmethod(lambda cls, attr: attr in target_group_attributes)),
        (FakeTargetGroup, "get_cfn_attribute", _target_group_attribute),
        (
            Key,
            "create_from_cloudformation_json",
            _kms_key_from_cloudformation(vars(Key)["create_from_cloudformation_json"].__func__),
        ),
        (
            parsing.ResourceMap,
            "parse_ssm_parameter",
            _ssm_parameter_keeping_previous_value(parsing.ResourceMap.parse_ssm_parameter),
        ),
        (
            parsing.ResourceMap,
            "build_resource_diff",
            _diff_against_every_previous_value(parsing.ResourceMap.build_resource_diff),
        ),
        (RouteTable, "delete", _delete_route_table),
        (NatGateway, "delete", _delete_nat_gateway),
        (ChangeSet, "apply", _apply_with_outputs(ChangeSet.apply)),
        (Stack, "outputs", _outputs_unless_deleted(vars(Stack)["outputs"])),
        (
            CloudFormationBackend,
            "execute_change_set",
            _execute_registering_exports(CloudFormationBackend.execute_change_set),
        ),
        (Stack, "has_parameters", _has_parameters_with_previous_values),
    ]
    for owner, name, value in patches:
        setattr(owner, name, value)
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    _patched = True


def newest_stack_named(cfn: Any, name: str) -> dict[str, Any]:
    """Not in moto-notes yet (seen with moto 5.2.5): a CREATE change set on a stack left in REVIEW_IN_PROGRESS makes
    a second stack with the same name (AWS reuses the existing stack id), and DescribeStacks by name keeps
    answering with the old REVIEW_IN_PROGRESS one. Look the stack up in the full list and take the newest.
    """
    stacks = [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"] == name]
    return max(stacks, key=lambda s: s["CreationTime"])

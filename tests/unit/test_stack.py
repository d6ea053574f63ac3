"""Requirements that hold across the whole web-application stack (issue 2: 1, 11, 12, 13, 14)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cfnspec.parameters import check_value, group_size_problems
from cfnspec.stateful import STATEFUL_TYPES
from templates import naming
from templates.regions import CLOUDFRONT_LOGGING_SUPPORTED
from templates.tap_stack import compose_tap_stack
from tests.template_helpers import refs_in, resources_of_type
from tests.unit._fragment import tag_keys, taggable_types

# Requirement 12's tags, by name (not read from templates/tags.py, which the tests check).
FOUR_TAGS = ("Environment", "Component", "Project", "CostCenter")
# AWS publishes the Elastic Load Balancing log-delivery account per region: that mapping, and the condition that
# lists the regions using it, are the one place where account ids may appear. Region names also appear in the
# condition listing the regions whose buckets CloudFront standard logging can deliver to.
ELB_ACCOUNT_MAPPING = "ElbLogDeliveryAccounts"
ELB_ACCOUNT_CONDITION = "ElbLogDeliveryByAccount"
REGION_LIST_CONDITIONS = (ELB_ACCOUNT_CONDITION, CLOUDFRONT_LOGGING_SUPPORTED)
# Every name the stack derives, by the property that carries it, with the limit AWS sets for that name.
NAME_LIMITS = {
    ("AWS::S3::Bucket", "BucketName"): 63,
    ("AWS::CloudFront::OriginAccessControl", "Name"): 64,
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"): 32,
    ("AWS::AutoScaling::AutoScalingGroup", "AutoScalingGroupName"): 255,
    ("AWS::EC2::LaunchTemplate", "LaunchTemplateName"): 128,
    ("AWS::KMS::Alias", "AliasName"): 256,
    ("AWS::SNS::Topic", "TopicName"): 256,
    ("AWS::CloudWatch::Dashboard", "DashboardName"): 255,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
}
NAME_PROPERTIES = {"Name", "RoleName", "AlarmName", "PolicyName"} | {prop for _, prop in NAME_LIMITS}
LONGEST_REGION = "ap-southeast-99"  # longer than any Region name today (ap-southeast-5 has 14 characters)


def _without_elb_accounts(tpl: dict[str, Any]) -> dict[str, Any]:
    tpl = dict(tpl)
    tpl["Mappings"] = {k: v for k, v in tpl.get("Mappings", {}).items() if k != ELB_ACCOUNT_MAPPING}
    tpl["Conditions"] = {
        k: v for k, v in tpl.get("Conditions", {}).items() if not k.startswith(REGION_LIST_CONDITIONS)
    }
    # Suppression reasons are prose for reviewers (one mentions where WAF web ACLs for CloudFront live).
    tpl["Resources"] = {k: {**v, "Metadata": {}} for k, v in tpl["Resources"].items()}
    return tpl


def test_req1_region_portable_no_account_ids_az_names_ami_ids_or_regions(tpl: dict[str, Any]) -> None:
    tpl = _without_elb_accounts(tpl)
    defaults = {name: spec.get("Default") for name, spec in tpl["Parameters"].items()}
    # Parameter descriptions are prose with example ARNs; everything that is deployed is scanned.
    text = json.dumps([tpl["Resources"], tpl["Outputs"], tpl["Conditions"], tpl["Mappings"], defaults])
    assert not re.search(r"(?<![0-9])[0-9]{12}(?![0-9])", text), "a 12-digit account id is hard-coded"
    assert not re.search(r"\b[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]\b", text), (
        "an Availability Zone name is hard-coded"
    )
    assert not re.search(r"\bami-[0-9a-f]{8,17}\b", text), "an AMI id is hard-coded"
    assert not re.search(
        r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central|northeast|southeast)-[0-9]\b", text
    ), "a region name is hard-coded"
    assert "arn:aws:" not in text, "an ARN with a fixed partition is hard-coded; use ${AWS::Partition}"


def test_req1_availability_zones_come_from_get_azs(tpl: dict[str, Any]) -> None:
    subnets = [r for r in tpl["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]
    for subnet in subnets:
        assert "Fn::GetAZs" in json.dumps(subnet["Properties"]["AvailabilityZone"])


def test_req11_every_parameter_has_a_default_so_the_stack_deploys_without_parameters(
    tpl: dict[str, Any],
) -> None:
    params = tpl["Parameters"]
    missing = [name for name, spec in params.items() if "Default" not in spec]
    assert missing == []


def test_req11_environment_suffix_is_lower_case_and_length_limited(tpl: dict[str, Any]) -> None:
    spec = tpl["Parameters"]["EnvironmentSuffix"]
    assert (spec["MinLength"], spec["MaxLength"]) == (1, 20)
    pattern = re.compile(spec["AllowedPattern"])
    assert pattern.match("pr-123") and pattern.match("dev")
    for bad in ("Dev", "dev_1", "-dev", "dev-", "a--b", ""):
        assert not pattern.match(bad), bad


def test_req11_parameters_have_console_groups_and_labels(tpl: dict[str, Any]) -> None:
    interface = tpl["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for group in interface["ParameterGroups"] for p in group["Parameters"]]
    assert sorted(grouped) == sorted(tpl["Parameters"]), "every parameter belongs to exactly one group"
    assert len(grouped) == len(set(grouped))
    assert set(interface["ParameterLabels"]) == set(tpl["Parameters"])


def _size_pairs() -> list[tuple[str, str]]:
    params = compose_tap_stack().template.to_dict()["Parameters"]
    return [
        (low, high)
        for low in params["MinSize"]["AllowedValues"]
        for high in params["MaxSize"]["AllowedValues"]
    ]


@pytest.mark.parametrize(("low", "high"), _size_pairs())
def test_req11_rules_refuse_every_min_size_not_below_max_size(
    tpl: dict[str, Any], low: str, high: str
) -> None:
    """CloudFormation requires a rolling update's MinInstancesInService (here MinSize) to be less than MaxSize
    (UpdatePolicy attribute, AutoScalingRollingUpdate), and Auto Scaling refuses MinSize > MaxSize. Rules cannot
    compare numbers, so per MinSize value one rule lists the MaxSize values above it; the template's Rules,
    cfnspec's offline check (deploy.py's) and the numbers must agree on every pair the AllowedValues admit."""
    values = {"MinSize": low, "MaxSize": high}
    by_rules = all(
        _rule_holds(rule, values) for rule in tpl["Rules"].values() if "MinSize" in json.dumps(rule)
    )
    offline = group_size_problems(tpl, values) == []
    assert by_rules is offline is (int(low) < int(high))


@pytest.mark.parametrize("name", ["MinSize", "MaxSize"])
def test_req11_group_sizes_are_accepted_only_as_listed(tpl: dict[str, Any], name: str) -> None:
    """AllowedValues compare the value's text, so a String parameter refuses "4.0" and "04" (a Number
    parameter's MinValue/MaxValue would let them through to rules that compare text)."""
    spec = tpl["Parameters"][name]
    assert spec["Type"] == "String" and spec["Default"] in spec["AllowedValues"]
    assert [int(v) for v in spec["AllowedValues"]] == list(
        range(int(spec["AllowedValues"][0]), int(spec["AllowedValues"][-1]) + 1)
    )
    for spelling in ("4.0", "04", " 4", "4e0"):
        assert check_value(name, spelling, spec), spelling


def _rule_holds(rule: dict[str, Any], values: dict[str, str]) -> bool:
    """CloudFormation's verdict on a rule of Fn::Equals / Fn::Not over parameter values."""

    def value(expr: Any) -> Any:
        if isinstance(expr, str):
            return expr
        ((fn, arg),) = expr.items()
        if fn == "Ref":
            return values[arg]
        if fn == "Fn::Equals":
            return value(arg[0]) == value(arg[1])
        if fn == "Fn::Not":
            return not value(arg[0])
        if fn == "Fn::Contains":
            return value(arg[1]) in [value(v) for v in arg[0]]
        raise AssertionError(f"unexpected {fn}")

    if "RuleCondition" in rule and not value(rule["RuleCondition"]):
        return True
    return all(value(a["Assert"]) for a in rule["Assertions"])


CERTIFICATE = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-1234-5678-9abc-def012345678"


@pytest.mark.parametrize(
    ("require_https", "certificate", "accepted"),
    [("false", "", True), ("false", CERTIFICATE, True), ("true", CERTIFICATE, True), ("true", "", False)],
)
def test_require_https_refuses_a_stack_without_a_certificate(
    tpl: dict[str, Any], require_https: str, certificate: str, accepted: bool
) -> None:
    spec = tpl["Parameters"]["RequireHttps"]
    assert (spec["Type"], spec["AllowedValues"], spec["Default"]) == ("String", ["true", "false"], "false")
    rule = tpl["Rules"]["RequireHttpsNeedsCertificate"]
    assert "CertificateArn" in rule["Assertions"][0]["AssertDescription"]
    assert _rule_holds(rule, {"RequireHttps": require_https, "CertificateArn": certificate}) is accepted
    groups = tpl["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    (group,) = [g["Parameters"] for g in groups if "CertificateArn" in g["Parameters"]]
    assert "RequireHttps" in group, "RequireHttps belongs next to the certificate in the console"


def test_req12_every_taggable_resource_has_the_four_tags(tpl: dict[str, Any]) -> None:
    taggable = taggable_types()
    untagged = {
        logical_id: sorted(set(FOUR_TAGS) - tag_keys(res))
        for logical_id, res in tpl["Resources"].items()
        if res["Type"] in taggable and not set(FOUR_TAGS) <= tag_keys(res)
    }
    assert untagged == {}


def test_req12_tags_propagate_to_instances_and_volumes(tpl: dict[str, Any]) -> None:
    asg = tpl["Resources"]["AutoScalingGroup"]["Properties"]
    assert all(tag["PropagateAtLaunch"] is True for tag in asg["Tags"])
    specs = tpl["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["TagSpecifications"]
    tagged = {spec["ResourceType"]: {t["Key"] for t in spec["Tags"]} for spec in specs}
    assert set(FOUR_TAGS) <= tagged["instance"] and set(FOUR_TAGS) <= tagged["volume"]


def test_req13_stateful_resources_are_retained_on_delete_and_replacement(tpl: dict[str, Any]) -> None:
    stateful = {k: v for k, v in tpl["Resources"].items() if v["Type"] in STATEFUL_TYPES}
    assert {"StaticContentBucket", "LogBucket", "KmsKey", "FlowLogGroup"} <= set(stateful)
    not_retained = [
        k
        for k, v in stateful.items()
        if v.get("DeletionPolicy") not in ("Retain", "RetainExceptOnCreate")
        or v.get("UpdateReplacePolicy") != "Retain"
    ]
    assert not_retained == []


def test_req13_a_failed_first_create_leaves_only_what_it_cannot_delete(tpl: dict[str, Any]) -> None:
    """RetainExceptOnCreate (CloudFormation DeletionPolicy attribute): deleted when the operation that created
    the resource rolls back, Retain otherwise; UpdateReplacePolicy has no such value. Only the log bucket (not
    empty: ELB's test object) and the account-wide service-linked role stay Retain; the guard that refuses
    data loss and the stack policy still count the others as stateful."""
    from deployer.guard import stateful_resources

    policies = {k: v.get("DeletionPolicy") for k, v in tpl["Resources"].items() if "DeletionPolicy" in v}
    assert {k for k, v in policies.items() if v == "Retain"} == {"LogBucket", "AutoScalingServiceLinkedRole"}
    except_on_create = {k for k, v in policies.items() if v == "RetainExceptOnCreate"}
    assert except_on_create == {
        "StaticContentBucket",
        "KmsKey",
        "FlowLogGroup",
        "ApplicationLogGroup",
        "AccessLogGroup",
    }
    assert except_on_create <= set(stateful_resources(tpl))
    # Recognised by the policy, not only by the resource type.
    doc = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "RetainExceptOnCreate"}}}
    assert stateful_resources(doc) == {"Topic": "DeletionPolicy RetainExceptOnCreate"}


def test_req14_outputs_are_exported_under_the_stack_name(tpl: dict[str, Any]) -> None:
    outputs = tpl["Outputs"]
    expected = {
        "VpcId",
        "PublicSubnetIds",
        "PrivateSubnetIds",
        "LoadBalancerDnsName",
        "LoadBalancerUrl",
        "CloudFrontDomainName",
        "StaticContentBucketName",
        "AutoScalingGroupName",
        "AlarmTopicArn",
        "KmsKeyArn",
    }
    assert set(outputs) == expected
    for name, output in outputs.items():
        assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + name}
        assert output["Description"]


def test_req14_outputs_reference_resources_or_parameters_that_exist(tpl: dict[str, Any]) -> None:
    known = set(tpl["Resources"]) | set(tpl["Parameters"])
    for name, output in tpl["Outputs"].items():
        assert refs_in(output["Value"]) <= known, name


def test_req4_web_servers_boot_only_after_the_private_subnets_have_egress(tpl: dict[str, Any]) -> None:
    depends = tpl["Resources"]["AutoScalingGroup"]["DependsOn"]
    routes = [d for d in depends if tpl["Resources"][d]["Type"] == "AWS::EC2::Route"]
    assert sorted(routes) == ["PrivateDefaultRouteA", "PrivateDefaultRouteB"]
    for route in routes:
        props = tpl["Resources"][route]["Properties"]
        assert props["DestinationCidrBlock"] == "0.0.0.0/0"
        assert "NatGatewayId" in props
    # Until its association exists a subnet uses the VPC's main route table, which has no way out.
    associations = resources_of_type(tpl, "AWS::EC2::SubnetRouteTableAssociation")
    private = {k for k, v in associations.items() if v["Properties"]["SubnetId"]["Ref"].startswith("Private")}
    assert private == {"PrivateSubnetARouteTableAssociation", "PrivateSubnetBRouteTableAssociation"}
    assert private <= set(depends)


def _derived_names(tpl: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(logical id, type, property, value) of every name-like property, at the top level or one level down
    (e.g. the origin access control's configuration)."""
    found = []
    for logical_id, res in tpl["Resources"].items():
        properties = res.get("Properties", {})
        nested = [v for v in properties.values() if isinstance(v, dict)]
        for block in [properties, *nested]:
            for key, value in block.items():
                if key in NAME_PROPERTIES and isinstance(value, dict) and "Fn::Sub" in value:
                    found.append((logical_id, res["Type"], key, value["Fn::Sub"]))
    return found


def test_req11_every_derived_name_is_checked_and_fits_its_limit(tpl: dict[str, Any]) -> None:
    names = _derived_names(tpl)
    kinds = {(rtype, prop) for _, rtype, prop, _ in names}
    assert kinds == set(NAME_LIMITS), "a named resource has no limit here, or one listed here lost its name"
    # The longest suffixes the template admits (its MaxLength, not the builder's constant).
    longest = tpl["Parameters"]["EnvironmentSuffix"]["MaxLength"]
    suffixes = ("a" * longest, ("ab-" * longest)[: longest - 1] + "z")
    for logical_id, rtype, prop, pattern in names:
        assert isinstance(pattern, str), (logical_id, pattern)
        assert pattern in naming.PATTERNS, f"{logical_id}.{prop} is not a pattern of templates/naming.py"
        limit = NAME_LIMITS[(rtype, prop)]
        for suffix in suffixes:
            rendered = naming.render(pattern, suffix, region=LONGEST_REGION)
            assert len(rendered) <= limit, f"{logical_id}: {rendered} ({len(rendered)} > {limit})"
            assert "${" not in rendered, f"{logical_id}: {rendered} has a variable render does not fill"


def test_req4_group_zones_are_the_zones_of_its_subnets(tpl: dict[str, Any]) -> None:
    # EC2 Auto Scaling accepts AvailabilityZones with VPCZoneIdentifier only when the subnets lie in those zones.
    group = tpl["Resources"]["AutoScalingGroup"]["Properties"]
    subnet_zones = [
        tpl["Resources"][s["Ref"]]["Properties"]["AvailabilityZone"] for s in group["VPCZoneIdentifier"]
    ]
    assert group["AvailabilityZones"] == subnet_zones
    assert len({json.dumps(zone, sort_keys=True) for zone in subnet_zones}) == 2


def test_retain_is_spelt_once_in_the_code() -> None:
    root = Path(__file__).resolve().parents[2]
    files = [
        p
        for folder in ("templates", "generator", "deployer", "cfnspec")
        for p in (root / folder).glob("*.py")
    ]
    spelt = {str(p.relative_to(root)): p.read_text().count('"Retain"') for p in files}
    spelt = {name: count for name, count in spelt.items() if count}
    assert spelt == {"cfnspec/limits.py": 1}, spelt


# --- Replacement: which parameters can force a named resource to be replaced ---------------------------------


def _create_only(rtype: str) -> list[list[str]]:
    """The create-only property paths of a type, from cfn-lint's bundled resource provider schemas."""
    from cfnspec.schemas import create_only_paths

    return [list(path) for path in create_only_paths(rtype)]


def _at(properties: dict[str, Any], path: list[str]) -> Any:
    value: Any = properties
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _inputs(value: Any, conditions: dict[str, set[str]]) -> set[str]:
    """Every parameter, resource and condition-parameter a value depends on."""
    found = {name for name in refs_in(value) if "::" not in name}
    for condition in re.findall(r'"Fn::If": \["([^"]+)"', json.dumps(value)):
        found |= conditions[condition]
    return found


def _condition_parameters(tpl: dict[str, Any]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for name, body in tpl.get("Conditions", {}).items():
        text = json.dumps(body)
        nested = set(re.findall(r'"Condition": "([^"]+)"', text))
        assert not nested, f"{name}: nested conditions are not followed here"
        result[name] = {r for r in refs_in(body) if r in tpl["Parameters"]}
    return result


def replacing_parameters(tpl: dict[str, Any]) -> dict[str, set[str]]:
    """For every resource, the parameters whose change replaces it: those that reach a create-only property,
    directly or through a resource that is itself replaced (its id and attributes change)."""
    conditions = _condition_parameters(tpl)
    direct: dict[str, set[str]] = {}
    for logical_id, res in tpl["Resources"].items():
        values = [_at(res.get("Properties", {}), path) for path in _create_only(res["Type"])]
        direct[logical_id] = set().union(*(_inputs(v, conditions) for v in values if v is not None))
    replaced = {logical_id: deps & set(tpl["Parameters"]) for logical_id, deps in direct.items()}
    changed = True
    while changed:
        changed = False
        for logical_id, deps in direct.items():
            through = set().union(*(replaced[d] for d in deps if d in replaced))
            if not through <= replaced[logical_id]:
                replaced[logical_id] |= through
                changed = True
    return replaced


def _named(tpl: dict[str, Any]) -> dict[str, set[str]]:
    """Resources with a custom name in a create-only property, and the parameters that name is made of."""
    named: dict[str, set[str]] = {}
    for logical_id, res in tpl["Resources"].items():
        for path in _create_only(res["Type"]):
            value = _at(res.get("Properties", {}), path)
            # A literal or a Sub pattern is a name of its own; a Ref or GetAtt names another resource. A
            # ServiceName (a VPC endpoint's com.amazonaws.<region>.s3) names the AWS service, not the resource.
            if (
                path[-1].endswith("Name")
                and path[-1] != "ServiceName"
                and (isinstance(value, str) or (isinstance(value, dict) and "Fn::Sub" in value))
            ):
                named[logical_id] = {r for r in refs_in(value) if r in tpl["Parameters"]}
    return named


# Every custom-named resource and the parameters that can force its replacement. Each is also part of its
# name, so a replacement always comes with a new name, which CloudFormation can create beside the old one.
NAMED_RESOURCE_REPLACED_BY = {
    "StaticContentBucket": {"EnvironmentSuffix"},
    "LogBucket": {"EnvironmentSuffix"},
    "LoadBalancer": {"EnvironmentSuffix"},
    "LaunchTemplate": {"EnvironmentSuffix"},
    "AutoScalingGroup": {"EnvironmentSuffix"},
    "KmsKeyAlias": {"EnvironmentSuffix"},
    "AlarmTopic": {"EnvironmentSuffix"},
    "Dashboard": {"EnvironmentSuffix"},
    "FlowLogGroup": {"EnvironmentSuffix"},
    "ApplicationLogGroup": {"EnvironmentSuffix"},
    "AccessLogGroup": {"EnvironmentSuffix"},
    # Its name is fixed by AWS (AWSServiceRoleForAutoScaling): nothing may ever replace it.
    "AutoScalingServiceLinkedRole": set(),
}


def test_req11_no_parameter_can_force_a_named_resource_to_be_replaced_under_its_own_name(
    tpl: dict[str, Any],
) -> None:
    replaced = replacing_parameters(tpl)
    named = _named(tpl)
    assert {k: replaced[k] for k in named} == NAMED_RESOURCE_REPLACED_BY
    for logical_id, name_parameters in named.items():
        assert replaced[logical_id] <= name_parameters, (
            f"{logical_id}: {sorted(replaced[logical_id] - name_parameters)} replace it without renaming it"
        )


def test_req11_a_new_vpc_cidr_replaces_the_target_group_which_is_therefore_unnamed(
    tpl: dict[str, Any],
) -> None:
    replaced = replacing_parameters(tpl)
    by_vpc_cidr = {k for k, params in replaced.items() if "VpcCidr" in params}
    assert {"Vpc", "PublicSubnetA", "AlbSecurityGroup", "TargetGroup"} <= by_vpc_cidr
    assert "TargetGroup" not in _named(tpl)


def test_req11_each_parameter_its_group_and_its_label_come_from_one_spec(tpl: dict[str, Any]) -> None:
    from templates.parameters import GROUPS, StackParameters, parameter_specs

    specs = parameter_specs()
    assert [s.title for s in specs] == list(tpl["Parameters"]), "one spec per parameter, in template order"
    assert len(specs) == len(StackParameters.__dataclass_fields__)
    interface = tpl["Metadata"]["AWS::CloudFormation::Interface"]
    group_of = {p: g["Label"]["default"] for g in interface["ParameterGroups"] for p in g["Parameters"]}
    assert [g["Label"]["default"] for g in interface["ParameterGroups"]] == list(GROUPS)
    for s in specs:
        assert tpl["Parameters"][s.title] == json.loads(json.dumps(s.parameter().to_dict())), s.title
        assert group_of[s.title] == s.group, s.title
        assert interface["ParameterLabels"][s.title] == {"default": s.label}, s.title

"""The hand-off to a CloudFormation-only team: pages, example parameter files, console experience."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

import generate
from cfnspec.limits import RETAINING_POLICIES
from cfnspec.parameters import placeholders
from generator import describe
from generator.checks import (
    ParameterFileError,
    check_parameter_file,
    check_value,
    validate_parameter_file,
)
from generator.docs import render_page
from generator.environments import ENVIRONMENTS
from generator.examples import parameter_files
from generator.render import to_json
from templates import REGISTRY
from tests.template_helpers import stack_dict

NAMES = sorted(REGISTRY)
OUTPUT = Path(generate.__file__).resolve().parent / "output"


def page(name: str) -> str:
    t = stack_dict(name)
    return render_page(name, t, len(to_json(t).encode()))


def json_blocks(markdown: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", markdown, re.S)]


@pytest.mark.parametrize("name", NAMES)
def test_every_page_mentions_every_parameter_and_output(name: str) -> None:
    t, text = stack_dict(name), page(name)
    missing = [p for p in t.get("Parameters", {}) if f"`{p}`" not in text]
    missing += [o for o in t.get("Outputs", {}) if f"`{o}`" not in text]
    assert not missing, f"{name}.md does not mention {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_page_gives_each_parameter_its_type_default_constraints_and_console_group(name: str) -> None:
    t, text = stack_dict(name), page(name)
    groups, labels = describe.interface(t)
    for group, params in groups:
        for p in params:
            block = text.split(f"#### `{p}`", 1)[1].split("####", 1)[0]
            spec = t["Parameters"][p]
            assert f"Type: `{spec['Type']}`" in block, p
            assert f"Console group: {group}" in block, p
            assert labels[p] in text.split(f"#### `{p}`", 1)[1].split("\n", 1)[0], p
            if "AllowedPattern" in spec:
                assert spec["AllowedPattern"] in block, p
            for value in spec.get("AllowedValues", []):
                assert f"`{value}`" in block, p
            for bound in ("MinValue", "MaxValue", "MinLength", "MaxLength"):
                if bound in spec:
                    assert str(spec[bound]) in block, (p, bound)
            assert spec["Description"] in block, p


@pytest.mark.parametrize("name", NAMES)
def test_page_shows_every_export_name_pattern(name: str) -> None:
    t, text = stack_dict(name), page(name)
    for output in t.get("Outputs", {}).values():
        pattern = describe.export_name(output)
        if pattern:
            assert f"`{pattern}`" in text


@pytest.mark.parametrize("name", NAMES)
def test_page_names_the_capabilities_the_stack_needs(name: str) -> None:
    t, text = stack_dict(name), page(name)
    for capability, _ in describe.capabilities(t):
        assert f"--capabilities {capability}" in text
        assert f"`{capability}`" in text.split("## Capabilities", 1)[1]


@pytest.mark.parametrize("name", NAMES)
def test_page_lists_retained_resources_and_what_happens_on_delete(name: str) -> None:
    t, text = stack_dict(name), page(name)
    section = text.split("## Tearing down", 1)[1].split("\n## ", 1)[0]
    retained = [i for i, r in t["Resources"].items() if r.get("DeletionPolicy") in RETAINING_POLICIES]
    assert retained, "the stack has stateful resources that must be retained"
    for logical_id in retained:
        assert f"`{logical_id}`" in section
    assert "aws cloudformation delete-stack" in section
    # The query that records what stays behind lists exactly the retained resources.
    (literal,) = re.findall(r"contains\(`(\[.*?\])`, LogicalResourceId\)", section)
    assert json.loads(literal) == retained
    for rtype in {t["Resources"][i]["Type"] for i in retained}:
        line = next(x for x in section.splitlines() if x.startswith(f"- `{rtype}`:"))
        assert line.count(".") >= 2, f"{rtype}: says neither what stays nor how to remove it"


def test_page_says_which_parameter_blocks_deleting_the_stack() -> None:
    t, text = stack_dict("tap-stack"), page("tap-stack")
    protections = describe.deletion_protection_parameters(t)
    assert [p for _, p in protections] == ["LoadBalancerDeletionProtection"]
    section = text.split("## Tearing down", 1)[1].split("\n## ", 1)[0]
    assert "with `LoadBalancerDeletionProtection` = `true` the delete fails at `LoadBalancer`" in section


@pytest.mark.parametrize("name", NAMES)
def test_page_states_every_rule_across_parameters(name: str) -> None:
    t, text = stack_dict(name), page(name)
    section = text.split("## Appendix D: Parameters", 1)[1].split("\n## ", 1)[0]
    for rule_name, rule in t.get("Rules", {}).items():
        row = next(line for line in section.splitlines() if line.startswith(f"| `{rule_name}` |"))
        for assertion in rule["Assertions"]:
            assert describe.expression(assertion["Assert"]) in row
            assert assertion["AssertDescription"] in row


@pytest.mark.parametrize("name", NAMES)
def test_console_steps_name_the_upload_groups_tags_and_acknowledgement(name: str) -> None:
    t, text = stack_dict(name), page(name)
    section = text.split("## Deploying with the CloudFormation console", 1)[1].split("\n## ", 1)[0]
    assert f"Upload a template file > `output/{name}.json`" in section
    for label, _ in describe.interface(t)[0]:
        assert f'"{label}"' in section
    for capability, _ in describe.capabilities(t):
        assert f"`{capability}`" in section
    for key, value in ENVIRONMENTS[0].tags.items():
        assert f"`{key}` = `{value}`" in section
    assert "Create change set" in section and "Execute change set" in section


@pytest.mark.parametrize("name", NAMES)
def test_page_has_change_set_commands_for_new_and_existing_stacks(name: str) -> None:
    text = page(name)
    for expected in (
        "--change-set-type CREATE",
        "--change-set-type UPDATE",
        "--parameters file://parameters.cli.json",
        "aws cloudformation describe-change-set",
        "aws cloudformation execute-change-set",
        "aws cloudformation wait stack-create-complete",
        "aws cloudformation wait stack-update-complete",
        "REGION=us-east-1",
        "jq '[.Parameters | to_entries[] | {ParameterKey: .key, ParameterValue: .value}]'",
        '--parameter-overrides file://"$PARAMS"',
    ):
        assert expected in text, expected


@pytest.mark.parametrize("name", NAMES)
def test_page_gives_the_offline_validation_commands(name: str) -> None:
    text = page(name)
    section = text.split("## Validating before you deploy", 1)[1].split("\n## ", 1)[0]
    assert f"cfn-lint output/{name}.json\n" in section
    assert f"cfn-lint output/{name}.json --parameter-files " in section
    # Over 51,200 bytes validate-template, like create-change-set, must read the template from S3.
    if len(to_json(stack_dict(name)).encode()) > 51_200:
        assert 'validate-template --region "$REGION" --template-url "$TEMPLATE_URL"' in section
        assert f"--template-body file://output/{name}.json" not in text
    else:
        assert f'validate-template --region "$REGION" --template-body file://output/{name}.json' in section


def test_lint_with_values_leaves_out_ssm_parameter_types() -> None:
    """cfn-lint reads an SSM parameter type's value as the resolved value (W1030 on the AMI path)."""
    t, text = stack_dict("tap-stack"), page("tap-stack")
    ssm = [n for n, spec in t["Parameters"].items() if spec["Type"].startswith("AWS::SSM::Parameter::Value")]
    assert ssm == ["ImageId"]
    section = text.split("## Validating before you deploy", 1)[1].split("\n## ", 1)[0]
    assert 'startswith("AWS::SSM::Parameter::Value") | not' in section
    assert "--parameter-files parameters.lint.json" in section


def _with_placeholders(value: Any) -> Any:
    """The template's own statement with its Fn::Sub/Ref written as the page's placeholders (read independently
    of generator.key_policy: only the forms the template uses)."""
    if isinstance(value, list):
        return [_with_placeholders(v) for v in value]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        names = {"AWS::Partition": "PARTITION", "AWS::AccountId": "ACCOUNT_ID", "AWS::Region": "REGION"}
        names["EnvironmentSuffix"] = "ENVIRONMENT_SUFFIX"
        return re.sub(r"\$\{([^}]+)\}", lambda m: f"<{names[m.group(1)]}>", value["Fn::Sub"])
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return {"AWS::AccountId": "<ACCOUNT_ID>", "AWS::Region": "<REGION>"}[value["Ref"]]
    if isinstance(value, dict):
        return {k: _with_placeholders(v) for k, v in value.items()}
    return value


def test_brought_key_policy_on_the_page_is_the_templates_own_key_policy() -> None:
    t = stack_dict("tap-stack")
    (key,) = [r for r in t["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    (policy,) = json_blocks(page("tap-stack"))
    assert policy["Statement"] == _with_placeholders(key["Properties"]["KeyPolicy"]["Statement"])
    text = json.dumps(policy)
    assert "arn:aws:" not in text and "Fn::" not in text and '"Ref"' not in text


def test_page_lists_every_placeholder_the_key_policy_uses() -> None:
    text = page("tap-stack")
    (policy,) = json_blocks(text)
    used = set(re.findall(r"<[A-Z_]+>", json.dumps(policy)))
    assert used and all(f"`{p}`:" in text for p in used), used


def test_page_gives_the_key_policy_auto_scaling_needs_for_a_brought_key() -> None:
    text = page("tap-stack")
    assert "AWSServiceRoleForAutoScaling" in text and "CreateAutoScalingServiceLinkedRole" in text
    (policy,) = json_blocks(text)
    by_action: dict[str, dict[str, Any]] = {}
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "AWSServiceRoleForAutoScaling" in json.dumps([statement["Principal"], statement.get("Condition")]):
            by_action.update(dict.fromkeys(actions, statement))
    assert {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"} <= set(
        by_action
    )
    assert by_action["kms:CreateGrant"]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


@pytest.mark.parametrize("name", NAMES)
def test_example_parameter_files_validate_against_the_template(name: str) -> None:
    t = stack_dict(name)
    files = parameter_files(name, t)
    assert set(files) == {f"{name}.parameters.json"} | {
        f"{name}.{e.name}.parameters.json" for e in ENVIRONMENTS
    }
    for file_name, content in files.items():
        data = json.loads(content)
        assert set(data) == {"Parameters", "Tags"}, file_name
        assert all(isinstance(v, str) for v in data["Parameters"].values()), file_name
        assert validate_parameter_file(t, data) == [], file_name


def test_defaults_file_holds_every_parameter_at_its_default() -> None:
    t = stack_dict("tap-stack")
    values = json.loads(parameter_files("tap-stack", t)["tap-stack.parameters.json"])["Parameters"]
    assert list(values) == list(t["Parameters"])
    assert values["MinSize"] == str(t["Parameters"]["MinSize"]["Default"])
    assert values["KmsKeyArn"] == ""


def test_sample_environments_set_only_parameters_the_stack_has() -> None:
    known = {p for name in NAMES for p in stack_dict(name).get("Parameters", {})}
    for env in ENVIRONMENTS:
        assert set(env.parameters) <= known, (env.name, set(env.parameters) - known)
        assert set(env.to_fill_in) <= known, (env.name, set(env.to_fill_in) - known)


@pytest.mark.parametrize("name", NAMES)
def test_example_files_hold_exactly_the_templates_parameters(name: str) -> None:
    t = stack_dict(name)
    for file_name, content in parameter_files(name, t).items():
        assert list(json.loads(content)["Parameters"]) == list(t["Parameters"]), file_name


def test_production_example_requires_https_with_a_marked_certificate_placeholder() -> None:
    """The placeholder must fail early wherever it is sent: CloudFormation checks AllowedPattern when the change
    set is made (before any resource), so the pattern refuses it; deploy.py refuses it offline by its mark.
    ACM certificate ARNs end in certificate/<id>, the id a lower-case hexadecimal UUID (ACM API Reference,
    CertificateArn: arn:aws:acm:region:123456789012:certificate/12345678-1234-1234-1234-123456789012)."""
    t = stack_dict("tap-stack")
    prod = json.loads(parameter_files("tap-stack", t)["tap-stack.prod.parameters.json"])["Parameters"]
    assert placeholders(prod) == ["CertificateArn"]
    spec = t["Parameters"]["CertificateArn"]
    (refused,) = check_value("CertificateArn", prod["CertificateArn"], spec)
    assert "does not match AllowedPattern" in refused
    real = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    assert check_value("CertificateArn", real, spec) == check_value("CertificateArn", "", spec) == []
    assert prod["RequireHttps"] == "true"
    text = page("tap-stack")
    assert (
        f"set `CertificateArn` to the ARN of your ACM certificate in the stack's region, in place of the placeholder `{prod['CertificateArn']}`"
        in text
    )
    assert "Production: HTTPS required" in text


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda e: e.name)
def test_sample_environments_keep_min_desired_max_in_order(env: Any) -> None:
    t = stack_dict("tap-stack")
    values = json.loads(parameter_files("tap-stack", t)[f"tap-stack.{env.name}.parameters.json"])[
        "Parameters"
    ]
    assert int(values["MinSize"]) < int(values["MaxSize"])
    assert values["EnvironmentSuffix"] == env.name


def test_a_broken_parameter_file_fails_validation_with_a_clear_message(tmp_path: Path) -> None:
    t = stack_dict("tap-stack")
    (tmp_path / "tap-stack.json").write_text(to_json(t))
    data = json.loads(parameter_files("tap-stack", t)["tap-stack.dev.parameters.json"])
    data["Parameters"].update(EnvironmentSuffix="Dev_Env", MinSize="1", LogRetentionDays="8", Typo="x")
    broken = tmp_path / "broken.parameters.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(ParameterFileError) as error:
        check_parameter_file(tmp_path / "tap-stack.json", broken)
    message = str(error.value)
    assert message.startswith(f"{broken} does not fit tap-stack.json:")
    # Each leads with the fix (the ConstraintDescription), then says what the value breaks.
    suffix_fix = t["Parameters"]["EnvironmentSuffix"]["ConstraintDescription"].rstrip(".")
    assert f"EnvironmentSuffix='Dev_Env': {suffix_fix}; does not match AllowedPattern" in message
    assert "MinSize='1': must be a whole number" in message
    assert "LogRetentionDays='8': must be one of the retention periods" in message
    assert "is not one of the AllowedValues" in message
    assert "Typo is not a parameter of the template" in message


SPEC: dict[str, Any] = {
    "pattern": {"Type": "String", "AllowedPattern": "[a-z]+", "ConstraintDescription": "lower-case letters"},
    "values": {"Type": "String", "AllowedValues": ["a", "b"]},
    "length": {"Type": "String", "MinLength": 2, "MaxLength": 3},
    "range": {"Type": "Number", "MinValue": 1, "MaxValue": 5},
    "numbers": {"Type": "Number", "AllowedValues": [30, 90]},
}


@pytest.mark.parametrize(
    ("spec", "value", "problem"),
    [
        ("pattern", "abc", None),
        ("pattern", "abc1", "P='abc1': lower-case letters; does not match AllowedPattern '[a-z]+'"),
        ("values", "b", None),
        ("values", "c", "is not one of the AllowedValues [a, b]"),
        ("length", "ab", None),
        ("length", "a", "is shorter than MinLength 2"),
        ("length", "abcd", "is longer than MaxLength 3"),
        ("range", "5", None),
        ("range", "0", "is less than MinValue 1"),
        ("range", "5.5", "is greater than MaxValue 5"),
        ("range", "two", "is not a number"),
        ("numbers", "90", None),
        ("numbers", "90.0", "is not one of the AllowedValues [30, 90]; write it as '90'"),
        ("numbers", "60", "is not one of the AllowedValues [30, 90]"),
    ],
)
def test_checks_each_kind_of_parameter_constraint(spec: str, value: str, problem: str | None) -> None:
    found = check_value("P", value, SPEC[spec])
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found


def test_a_parameter_without_default_must_be_given() -> None:
    t = {"Parameters": {"Required": {"Type": "String"}}}
    assert validate_parameter_file(t, {"Parameters": {}}) == [
        "Required has no default, so the file must give it a value"
    ]
    assert validate_parameter_file(t, {"Parameters": {"Required": 3}}) == [
        'Required: values must be JSON strings (write "3"), got int'
    ]


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_has_console_label_group_description_and_constraint_description(name: str) -> None:
    t = stack_dict(name)
    groups, labels = describe.interface(t)
    grouped = [p for _, params in groups for p in params]
    problems = []
    for p, spec in t.get("Parameters", {}).items():
        if grouped.count(p) != 1:
            problems.append(f"{p}: in {grouped.count(p)} console groups (want exactly 1)")
        if not labels.get(p):
            problems.append(f"{p}: no console label")
        if len(spec.get("Description", "")) < 10:
            problems.append(f"{p}: no Description saying what to enter")
        constrained = {
            "AllowedPattern",
            "AllowedValues",
            "MinLength",
            "MaxLength",
            "MinValue",
            "MaxValue",
        } & set(spec)
        if (constrained or spec.get("Type") == "Number") and not spec.get("ConstraintDescription"):
            problems.append(f"{p}: constrained by {sorted(constrained)} but has no ConstraintDescription")
    problems += [f"{p}: grouped but not a parameter" for p in grouped if p not in t.get("Parameters", {})]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"Type": "AWS::IAM::Role", "Properties": {}}, [("CAPABILITY_IAM", ["R"])]),
        ({"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}, [("CAPABILITY_NAMED_IAM", ["R"])]),
        ({"Type": "AWS::IAM::ServiceLinkedRole", "Properties": {}}, []),
        ({"Type": "AWS::SNS::Topic", "Properties": {}}, []),
    ],
)
def test_capabilities_are_detected_from_iam_resources(resource: dict[str, Any], expected: list[Any]) -> None:
    assert describe.capabilities({"Resources": {"R": resource}}) == expected


def test_output_directory_is_up_to_date() -> None:
    """output/ is what the registered templates produce (what the security gate and the team receive)."""
    out, err = io.StringIO(), io.StringIO()
    code = generate.run(REGISTRY, OUTPUT, check=True, out=out, err=err)
    assert code == generate.EXIT_OK, f"run generate.py:\n{out.getvalue()}{err.getvalue()}"


@pytest.mark.parametrize("name", NAMES)
def test_committed_page_mentions_every_parameter_and_output_of_the_committed_template(name: str) -> None:
    t = json.loads((OUTPUT / f"{name}.json").read_text())
    text = (OUTPUT / f"{name}.md").read_text()
    names = [*t.get("Parameters", {}), *t.get("Outputs", {})]
    assert [n for n in names if f"`{n}`" not in text] == []
    for file_name in sorted(OUTPUT.glob(f"{name}*.parameters.json")):
        check_parameter_file(OUTPUT / f"{name}.json", file_name)


def test_page_says_which_resources_a_failed_create_deletes_and_why_the_others_stay() -> None:
    """DeletionPolicy RetainExceptOnCreate: CloudFormation deletes the resource when the stack operation that
    created it rolls back, and otherwise behaves like Retain (CloudFormation User Guide, DeletionPolicy
    attribute). The log bucket stays Retain: ELB writes a test object to it as soon as access logging is
    enabled, and a bucket that is not empty cannot be deleted."""
    text = page("tap-stack")
    teardown = text.split("## Tearing down", 1)[1].split("\n## ", 1)[0]
    (line,) = [ln for ln in teardown.splitlines() if ln.startswith("A failed first create leaves none of")]
    for logical_id in (
        "KmsKey",
        "FlowLogGroup",
        "StaticContentBucket",
        "ApplicationLogGroup",
        "AccessLogGroup",
    ):
        assert f"`{logical_id}`" in line.split(" behind ")[0]
    assert "`LogBucket` stays `Retain` even then" in line and "test object" in line
    (failed,) = [ln for ln in text.splitlines() if ln.startswith("If the first create fails")]
    assert "except the resources with a Retain policy (`LogBucket`, `AutoScalingServiceLinkedRole`)" in failed

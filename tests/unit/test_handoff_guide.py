"""The hand-off page as a deployment guide: its order, self-contained command blocks, the deploy policy file,
the cost figures and the update effects, each checked against the template they are derived from."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cfnspec.update_outcomes import NEW_STACK_SECTION, Outcome, update_outcomes
from generator import costs, permissions
from generator.docs import render_page
from generator.render import to_json
from templates import REGISTRY
from tests.handoff_blocks import assigned, blocks, referenced, shell_blocks, variables_block
from tests.template_helpers import stack_dict

NAMES = sorted(REGISTRY)
OUTPUT = Path(__file__).resolve().parents[2] / "output"
# What someone in a hurry needs first, then the quick path, then the other ways, then the appendices.
ORDER = (
    "Contents",
    "In an incident",
    "Before the first command",
    "Checking the account",
    "Creating the stack",
    "Verifying the deployment",
    "Updating an existing stack",
    "Tearing down",
    "Deploying with the CloudFormation console",
    "Validating before you deploy",
    "Monthly cost at the defaults",
    "Appendix A: Files",
    "Appendix B: What the stack creates",
    "Appendix C: Account prerequisites",
    "Appendix D: Parameters",
    "Appendix E: Outputs",
)
# Variables the shell itself provides.
SHELL_VARIABLES = {"PATH", "HOME"}


def page_of(name: str, t: dict[str, Any] | None = None) -> str:
    t = t if t is not None else stack_dict(name)
    return render_page(name, t, len(to_json(t).encode()))


def headings(text: str) -> list[str]:
    return [line[3:] for line in text.split("\n") if line.startswith("## ")]


def section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("name", NAMES)
def test_sections_follow_the_steps_of_a_deployment(name: str) -> None:
    found = headings(page_of(name))
    positions = [found.index(title) for title in ORDER]
    assert positions == sorted(positions), found


@pytest.mark.parametrize("name", NAMES)
def test_the_variables_block_opens_the_quick_path_and_only_incident_blocks_come_before_it(name: str) -> None:
    text = page_of(name)
    shells = shell_blocks(text)
    first = variables_block(shells)
    assert first.not_rehearsable is None and first.out_of_order is None
    assert {"REGION", "STACK_NAME", "PARAMS", "BUCKET", "ACCOUNT_ID"} <= assigned(first.body)
    assert section(text, "Before the first command").count("```sh") == 1
    assert all(b.out_of_order or b.not_rehearsable for b in shells[: shells.index(first)])
    # The prerequisites are stated before the first command of the page.
    assert text.index("AWS CLI (v1 or v2) and jq") < text.index("```sh")


@pytest.mark.parametrize("name", NAMES)
def test_every_rehearsable_block_uses_only_the_first_blocks_variables_or_its_own(name: str) -> None:
    shells = shell_blocks(page_of(name))
    first = variables_block(shells)
    defined = assigned(first.body)
    problems = {
        block.line: sorted(referenced(block.body) - defined - assigned(block.body) - SHELL_VARIABLES)
        for block in shells
        if block.not_rehearsable is None and block is not first
    }
    assert {line: names for line, names in problems.items() if names} == {}


def test_the_variable_check_sees_a_variable_from_an_earlier_block() -> None:
    # The check above must be able to fail: a block reusing CHANGE_SET from an earlier block is caught.
    body = "aws cloudformation describe-change-set --change-set-name \"$CHANGE_SET\" --query '[$x]'"
    assert referenced(body) - assigned(body) == {"CHANGE_SET"}


@pytest.mark.parametrize("name", NAMES)
def test_every_not_rehearsable_mark_sits_on_a_shell_block_and_gives_a_reason(name: str) -> None:
    text = page_of(name)
    marks = [m for m in re.findall(r"<!-- not-rehearsable: (.*?) -->", text)]
    marked = [b for b in blocks(text) if b.not_rehearsable is not None]
    assert len(marks) == len(marked) >= 1
    assert all(b.is_shell and len(b.not_rehearsable or "") > 10 for b in marked)


@pytest.mark.parametrize("name", NAMES)
def test_no_command_names_a_region_other_than_region_variable(name: str) -> None:
    text = page_of(name)
    assert "--region us-east-1" not in text
    regions = re.findall(r"--region (\"?[^\s\"`]*\"?)", text)
    # The printed line that abandons a change set quotes it inside an echo (\"$REGION\", read as \").
    assert regions and set(regions) <= {'"$REGION"', '\\"'}
    assert 'delete-change-set --region \\"$REGION\\"' in text


@pytest.mark.parametrize("name", NAMES)
def test_the_template_bucket_is_made_by_a_command_before_the_upload(name: str) -> None:
    for block in shell_blocks(page_of(name)):
        lines = [line for line in block.body.split("\n") if not line.lstrip().startswith("#")]
        uploads = [i for i, line in enumerate(lines) if line.startswith("aws s3 cp output/")]
        for i in uploads:
            assert any('aws s3 mb "s3://$BUCKET"' in line for line in lines[:i]), block.body


@pytest.mark.parametrize("name", NAMES)
def test_the_update_block_converts_the_parameter_file_again(name: str) -> None:
    update = section(page_of(name), "Updating an existing stack")
    block = next(b for b in shell_blocks(update) if "--change-set-type UPDATE" in b.body)
    assert block.body.index("> parameters.cli.json") < block.body.index("create-change-set")


def test_the_deploy_policy_covers_every_handler_permission_of_every_resource_type() -> None:
    t = stack_dict("tap-stack")
    actions = {a for s in permissions.policy(t)["Statement"] for a in s["Action"]}
    for rtype in permissions.resource_types(t):
        handlers = permissions.schema(rtype).get("handlers", {})
        for operation in ("create", "update", "delete"):
            missing = set(handlers.get(operation, {}).get("permissions", [])) - actions
            assert not missing, f"{rtype} {operation}: {sorted(missing)}"
    assert {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "s3:PutObject"} <= actions


def test_a_new_resource_type_brings_its_permissions_into_the_policy() -> None:
    t = copy.deepcopy(stack_dict("tap-stack"))
    before = {a for s in permissions.policy(t)["Statement"] for a in s["Action"]}
    assert "dynamodb:CreateTable" not in before
    t["Resources"]["Table"] = {"Type": "AWS::DynamoDB::Table", "Properties": {}}
    after = {a for s in permissions.policy(t)["Statement"] for a in s["Action"]}
    assert "dynamodb:CreateTable" in after


def test_the_policy_file_in_output_is_the_one_the_template_gives() -> None:
    written = json.loads((OUTPUT / permissions.policy_file_name("tap-stack")).read_text())
    assert written == permissions.policy(stack_dict("tap-stack"))


def _cost_rows(text: str) -> dict[str, tuple[str, str]]:
    body = section(text, "Monthly cost at the defaults")
    rows = {}
    for line in body.split("\n"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("Driver", "---"):
            rows[cells[0]] = (cells[1], cells[3])
    return rows


def test_cost_figures_recompute_from_the_price_table_and_the_templates_defaults() -> None:
    t = stack_dict("tap-stack")
    text = page_of("tap-stack", t)
    rows = _cost_rows(text)
    params = t["Parameters"]
    nat_per_az = sum(1 for r in t["Resources"].values() if r["Type"] == "AWS::EC2::NatGateway")
    hours = costs.HOURS_PER_MONTH
    nat = costs.PRICES["nat-gateway-hour"].usd * hours * nat_per_az
    assert rows["NAT gateways"] == (str(nat_per_az), f"${nat:,.2f}")
    instance_type = params["InstanceType"]["Default"]
    group = next(r for r in t["Resources"].values() if r["Type"] == "AWS::AutoScaling::AutoScalingGroup")
    size = group["Properties"].get("DesiredCapacity", group["Properties"]["MinSize"])
    count = int(params[size["Ref"]]["Default"]) if isinstance(size, dict) else int(size)
    ec2 = costs.PRICES[f"ec2-{instance_type}-hour"].usd * hours * count
    assert rows[f"{instance_type} instances"] == (str(count), f"${ec2:,.2f}")
    total = sum(float(v.strip("$").replace(",", "")) for c, v in rows.values() if v.startswith("$"))
    assert f"Total fixed: about ${total:,.2f} a month." in text
    assert costs.PRICES_READ in text and "https://aws.amazon.com/vpc/pricing/" in text


def test_cost_table_counts_addresses_monitoring_alarms_dashboards_metrics_and_flow_logs() -> None:
    """Charges the stack sets up besides compute and NAT (AWS pricing pages: VPC public IPv4 $0.005 an hour per
    address, an internet-facing ALB holding one in each of its subnets; CloudWatch detailed monitoring, custom
    metrics, alarms, dashboards, vended-log ingestion), each counted from the template itself."""
    t = stack_dict("tap-stack")
    rows = _cost_rows(page_of("tap-stack", t))
    resources = t["Resources"]
    alb = next(r for r in resources.values() if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer")
    addresses = len(alb["Properties"]["Subnets"])
    ipv4 = costs.PRICES["public-ipv4-hour"].usd * costs.HOURS_PER_MONTH * addresses
    assert rows["Load balancer public IPv4 addresses (one per zone)"] == (str(addresses), f"${ipv4:,.2f}")
    instances = int(t["Parameters"]["MinSize"]["Default"])
    assert rows["EC2 detailed monitoring (instances)"] == (str(instances), f"${2.10 * instances:,.2f}")
    # mem_used_percent and disk_used_percent, per instance and once per group (the aggregation dimension).
    metrics = 2 * (instances + 1)
    assert rows["CloudWatch agent metrics (memory, disk)"] == (str(metrics), f"${0.30 * metrics:,.2f}")
    alarms = sum(1 for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm")
    assert rows["CloudWatch alarms"] == (str(alarms), f"${0.10 * alarms:,.2f}")
    assert rows["CloudWatch dashboards"] == ("1", "$3.00")
    assert rows["VPC flow log ingestion (CloudWatch Logs)"] == ("by use", "by use")
    assert rows["S3 gateway endpoints"] == ("1", "$0.00")


def test_the_s3_gateway_endpoint_saving_is_the_nat_data_charge_it_avoids() -> None:
    """Gateway endpoints carry no charge, and S3 traffic through them is not processed by a NAT gateway
    ($0.045 per GB processed, VPC pricing); the AL2023 repositories are served from S3."""
    text = page_of("tap-stack")
    saving = costs.EXAMPLE_S3_GB_PER_MONTH * costs.PRICES["nat-gateway-gb"].usd
    assert f"{costs.EXAMPLE_S3_GB_PER_MONTH} GB of S3 traffic a month saves ${saving:,.2f}" in text
    t = copy.deepcopy(stack_dict("tap-stack"))
    del t["Resources"]["S3GatewayEndpoint"]
    assert "S3 gateway endpoints" not in _cost_rows(page_of("tap-stack", t))


def test_the_single_nat_saving_follows_the_templates_nat_gateways() -> None:
    t = stack_dict("tap-stack")
    per_az, single = costs.drivers(t), costs.drivers(t, NatGatewayMode="single")
    saving = round(costs.total(per_az) - costs.total(single), 2)
    one = (
        costs.PRICES["nat-gateway-hour"].usd + costs.PRICES["public-ipv4-hour"].usd
    ) * costs.HOURS_PER_MONTH
    assert saving == pytest.approx(one, abs=0.01)
    assert f"a saving of ${saving:,.2f}" in page_of("tap-stack", t)


def test_a_changed_default_moves_the_cost_figures() -> None:
    t = copy.deepcopy(stack_dict("tap-stack"))
    t["Parameters"]["NatGatewayMode"]["Default"] = "single"
    rows = _cost_rows(page_of("tap-stack", t))
    assert rows["NAT gateways"][0] == "1"


def test_the_update_table_is_the_computed_outcome_of_every_parameter() -> None:
    t = stack_dict("tap-stack")
    update = section(page_of("tap-stack", t), "Updating an existing stack")
    rows = dict(re.findall(r"^\| `(\w+)` \| ([a-z ]+) \|", update, re.MULTILINE))
    assert rows == {p: o.outcome.label for p, o in update_outcomes(t).items()}


def test_the_new_stack_section_names_each_refused_parameter_and_its_reason() -> None:
    t = stack_dict("tap-stack")
    update = section(page_of("tap-stack", t), "Updating an existing stack")
    part = update.split(f"### {NEW_STACK_SECTION}\n", 1)[1]
    for parameter, outcome in update_outcomes(t).items():
        listed = f"- `{parameter}`: " in part
        assert listed == (outcome.outcome is Outcome.NEW_STACK), parameter
    assert "Resource.AlreadyAssociated" in part and "blue/green" in part


def test_a_parameter_that_feeds_a_create_only_property_is_listed_as_a_replacement() -> None:
    t = copy.deepcopy(stack_dict("tap-stack"))
    t["Parameters"]["TopicLabel"] = {"Type": "String", "Default": "a"}
    t["Resources"]["NamedTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": {"Fn::Sub": "t-${TopicLabel}"}},
    }
    assert "| `TopicLabel` | replaces resources | replaces `NamedTopic` |" in page_of("tap-stack", t)


def test_the_page_says_the_ami_is_resolved_again_on_every_update() -> None:
    update = section(page_of("tap-stack"), "Updating an existing stack")
    assert "### The AMI is resolved again on every update" in update
    assert "ResolvedValue" in update and "aws ssm get-parameter" in update


def test_a_custom_resource_type_adds_no_actions_and_breaks_nothing() -> None:
    t = copy.deepcopy(stack_dict("tap-stack"))
    before = permissions.policy(t)
    t["Resources"]["Custom"] = {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn"}}
    assert permissions.handler_actions("Custom::Thing") == []
    assert permissions.policy(t) == before
    assert "## Tearing down" in page_of("tap-stack", t)


def test_the_free_name_check_looks_for_the_dashboard_of_this_region() -> None:
    """Dashboard names are account-wide (CloudWatch dashboards are global), so the page checks the name, which
    carries the region, with list-dashboards before the stack is created."""
    page = page_of("tap-stack")
    # The command itself (the account checks' table names it too, in a row of its own).
    (line,) = [ln for ln in page.splitlines() if ln.strip().startswith("aws cloudwatch list-dashboards")]
    assert '--dashboard-name-prefix "tap-${ENVIRONMENT_SUFFIX}-${REGION}"' in line, line

"""Every parameter of the generated stack changed by an update through deploy.py, and read back through the
emulator's own APIs (paginators), several parameters per update to keep the tier quick. What deploy.py does with
each change agrees with the ops page's update table (cfnspec.update_outcomes): a change that needs a new stack is
refused with exit 2 and leaves the stack as it was; every other change executes, and no resource the table does
not list as replaced gets a new physical id.

UPDATES is the table {parameter: (new value, which update changes it, how to read it back)}, one row per
parameter: a parameter added to the template fails test_the_update_table_covers_every_parameter_of_the_template
until it has its row, and a parameter the template loses is one row to delete. Parameters share an update where
the emulator allows it; the first update is the one that used to fail (CpuAlarmThreshold 80 to 75 with MaxSize 3
to 4 made the emulator answer HTTP 500 from its placeholder alarms).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from cfnspec.update_outcomes import REPLACED, Outcome, ParameterOutcome, update_outcomes
from tests.integration.conftest import Account

STACK = "tap-it-updates"
# The stack as first created: the issue's own starting point (MaxSize 3, alarm at the default 80).
INITIAL = {"EnvironmentSuffix": "it-upd", "MaxSize": "3", "NatGatewayMode": "per-az"}

# Replaced by the ARNs of a key and a certificate the test creates (the emulator checks that they exist).
CALLER_KEY = "caller-key"
CALLER_CERTIFICATE = "caller-certificate"


def test_the_update_table_covers_every_parameter_of_the_template(template: dict[str, Any]) -> None:
    assert set(UPDATES) == set(template["Parameters"]), (
        "every template parameter needs exactly one row in UPDATES (and none that the template lost)"
    )


def test_every_row_changes_its_parameter_to_a_new_value(template: dict[str, Any]) -> None:
    for name, row in UPDATES.items():
        before = INITIAL.get(name, str(template["Parameters"].get(name, {}).get("Default", "")))
        assert row.value != before, f"{name}: the update must change the value ({before!r})"
    assert sorted({row.update for row in UPDATES.values()}) == list(range(1, len(_updates()) + 1))


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


def _group(account: Account, resources: dict[str, str]) -> dict[str, Any]:
    groups = _paginate(
        account.client("autoscaling"),
        "describe_auto_scaling_groups",
        "AutoScalingGroups",
        AutoScalingGroupNames=[resources["AutoScalingGroup"]],
    )
    assert len(groups) == 1
    return dict(groups[0])


def _launch_template(account: Account, resources: dict[str, str]) -> dict[str, Any]:
    versions = _paginate(
        account.client("ec2"),
        "describe_launch_template_versions",
        "LaunchTemplateVersions",
        LaunchTemplateId=resources["LaunchTemplate"],
        Versions=["$Latest"],
    )
    return dict(versions[0]["LaunchTemplateData"])


def _group_tags(account: Account, resources: dict[str, str]) -> dict[str, str]:
    tags = _paginate(
        account.client("autoscaling"),
        "describe_tags",
        "Tags",
        Filters=[{"Name": "auto-scaling-group", "Values": [resources["AutoScalingGroup"]]}],
    )
    return {t["Key"]: t["Value"] for t in tags}


def _listeners(account: Account, resources: dict[str, str]) -> dict[int, dict[str, Any]]:
    listeners = _paginate(
        account.client("elbv2"), "describe_listeners", "Listeners", LoadBalancerArn=resources["LoadBalancer"]
    )
    return {x["Port"]: x for x in listeners}


def _nat_gateways(account: Account, resources: dict[str, str]) -> list[dict[str, Any]]:
    gateways = _paginate(
        account.client("ec2"),
        "describe_nat_gateways",
        "NatGateways",
        Filters=[{"Name": "vpc-id", "Values": [resources["Vpc"]]}],
    )
    return [g for g in gateways if g["State"] == "available"]


def _log_retentions(account: Account) -> set[int]:
    suffix = _stack_parameters(account)["EnvironmentSuffix"]
    groups = _paginate(
        account.client("logs"), "describe_log_groups", "logGroups", logGroupNamePrefix=f"/tap/{suffix}/"
    )
    assert len(groups) == 3
    # moto echoes the template's string where AWS returns an integer.
    return {int(g["retentionInDays"]) for g in groups}


def _stack_parameters(account: Account) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in account.stack(STACK)["Parameters"]}


Check = Callable[[Account, dict[str, str], str], None]


class Update(NamedTuple):
    value: str
    update: int  # parameters with the same number change together, in one change set
    read_back: Check


def _only_the_stack_parameter(name: str) -> Check:
    """For what the emulator does not build (alarms, scaling policies), keep (ALB attributes) or replace (a VPC
    whose CIDR changes): emulator.gaps.NOT_CHECKABLE_IN_THE_EMULATOR names the unit tests that assert these on
    the template. What the emulator still shows is the value the stack took."""

    def check(account: Account, resources: dict[str, str], value: str) -> None:
        assert _stack_parameters(account)[name] == value

    return check


UPDATES: dict[str, Update] = {
    "CpuAlarmThreshold": Update("75", 1, _only_the_stack_parameter("CpuAlarmThreshold")),
    "MaxSize": Update("4", 1, lambda a, r, v: _assert_equal(_group(a, r)["MaxSize"], int(v))),
    "MinSize": Update("3", 2, lambda a, r, v: _assert_equal(_group(a, r)["MinSize"], int(v))),
    "CpuTargetUtilization": Update("60", 2, _only_the_stack_parameter("CpuTargetUtilization")),
    "RequestsPerTarget": Update("500", 2, _only_the_stack_parameter("RequestsPerTarget")),
    "LogRetentionDays": Update("30", 3, lambda a, r, v: _assert_equal(_log_retentions(a), {int(v)})),
    "ProjectName": Update("tap-renamed", 3, lambda a, r, v: _assert_equal(_group_tags(a, r)["Project"], v)),
    "CostCenter": Update("cc-1234", 3, lambda a, r, v: _assert_equal(_group_tags(a, r)["CostCenter"], v)),
    "NatGatewayMode": Update(
        "single", 4, lambda a, r, v: _assert_equal(len(_nat_gateways(a, r)), 1 if v == "single" else 2)
    ),
    "InstanceType": Update(
        "t3.small", 3, lambda a, r, v: _assert_equal(_launch_template(a, r)["InstanceType"], v)
    ),
    "ImageId": Update(
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
        3,
        lambda a, r, v: _assert_equal(
            _launch_template(a, r)["ImageId"], a.client("ssm").get_parameter(Name=v)["Parameter"]["Value"]
        ),
    ),
    "CertificateArn": Update(
        CALLER_CERTIFICATE,
        4,
        lambda a, r, v: _assert_equal(
            [c["CertificateArn"] for c in _listeners(a, r)[443]["Certificates"]], [v]
        ),
    ),
    # With the certificate of the same update: the template's Rule asks for one when HTTPS is required.
    "RequireHttps": Update("true", 4, _only_the_stack_parameter("RequireHttps")),
    "LoadBalancerDeletionProtection": Update(
        "true", 4, _only_the_stack_parameter("LoadBalancerDeletionProtection")
    ),
    # The emulator does not build subscriptions (emulator.gaps): the condition on the address is what shows.
    "AlarmEmail": Update(
        "ops@example.com", 2, lambda a, r, v: _assert_equal("AlarmEmailSubscription" in r, bool(v))
    ),
    "CreateAutoScalingServiceLinkedRole": Update(
        "true", 4, lambda a, r, v: _assert_equal("AutoScalingServiceLinkedRole" in r, v == "true")
    ),
    "KmsKeyArn": Update(
        CALLER_KEY,
        5,
        lambda a, r, v: _assert_equal(
            (_launch_template(a, r)["BlockDeviceMappings"][0]["Ebs"]["KmsKeyId"], "KmsKey" in r), (v, False)
        ),
    ),
    # The table says these need a new stack: deploy.py refuses each one, tried alone, and the stack keeps its
    # value (moto would take both: it keeps the old VPC, and builds a second load balancer beside the first).
    "EnvironmentSuffix": Update("it-upd2", 6, _only_the_stack_parameter("EnvironmentSuffix")),
    "VpcCidr": Update("10.30.0.0/16", 6, _only_the_stack_parameter("VpcCidr")),
}


def _assert_equal(actual: object, expected: object) -> None:
    assert actual == expected


# Bringing a key turns CreateKmsKey false, which removes the stack's key: refused unless named
# (tests/integration/test_change_set_review.py tests the refusal itself).
REMOVED_BY_A_BROUGHT_KEY = ("KmsKey",)


def _deploy(account: Account, parameters: dict[str, str], remove: tuple[str, ...] = ()) -> int:
    # Preflight would rightly refuse the brought key (moto's default key policy) and the certificate (moto leaves
    # it PENDING_VALIDATION); tests/deploy/test_preflight_*.py test exactly those refusals.
    allowances = [arg for logical_id in remove for arg in ("--allow-removal", logical_id)]
    overrides = tuple(f"{k}={v}" for k, v in parameters.items())
    return account.deploy_stack("deploy", STACK, overrides, "--skip-preflight", *allowances)


def _updates() -> list[list[str]]:
    count = max(row.update for row in UPDATES.values())
    return [[name for name, row in UPDATES.items() if row.update == n] for n in range(1, count + 1)]


def _change_sets(account: Account) -> list[str]:
    # moto also lists the change sets already executed: what matters is that the refusal adds none.
    summaries = account.client("cloudformation").list_change_sets(StackName=STACK)["Summaries"]
    return sorted(c["ChangeSetId"] for c in summaries)


def _refused_and_unchanged(account: Account, current: dict[str, str], name: str, value: str) -> None:
    before, change_sets = account.stack(STACK), _change_sets(account)
    assert _deploy(account, {**current, name: value}) == 2, f"{name}: the table says it needs a new stack"
    after = account.stack(STACK)
    assert (after["StackStatus"], after["Parameters"]) == (before["StackStatus"], before["Parameters"])
    assert _change_sets(account) == change_sets, f"{name}: refused before any change set"


def _executed_as_the_table_says(
    account: Account, group: list[str], current: dict[str, str], outcomes: dict[str, ParameterOutcome]
) -> None:
    before = account.resources(STACK)
    remove = REMOVED_BY_A_BROUGHT_KEY if "KmsKeyArn" in group else ()
    assert _deploy(account, current, remove) == 0, f"update of {', '.join(group)} failed"
    stack = account.stack(STACK)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", f"update of {', '.join(group)}: {stack['StackStatus']}"
    after = account.resources(STACK)
    replaced = {logical_id for name in group for logical_id in outcomes[name].ids(REPLACED)}
    renewed = {i for i in before.keys() & after.keys() if before[i] != after[i]}
    assert renewed <= replaced, (
        f"update of {', '.join(group)}: replaced, and not in the table: {renewed - replaced}"
    )


@pytest.mark.slow
def test_each_parameter_update_does_what_the_table_says_and_reads_back_through_the_emulator(
    account: Account, template: dict[str, Any]
) -> None:
    outcomes = update_outcomes(template)
    # moto keeps the AMI id it resolved as the value of an SSM-typed parameter, where AWS shows the SSM path;
    # their read-back checks them through the launch template instead.
    ssm_typed = {k for k, v in template["Parameters"].items() if v["Type"].startswith("AWS::SSM::")}
    assert _deploy(account, INITIAL) == 0
    caller_key = account.client("kms").create_key(Description="brought by the operations team")["KeyMetadata"]
    certificate = account.client("acm").request_certificate(DomainName="www.example.com")["CertificateArn"]
    caller = {CALLER_KEY: caller_key["Arn"], CALLER_CERTIFICATE: certificate}
    values = {name: caller.get(row.value, row.value) for name, row in UPDATES.items()}
    current = dict(INITIAL)
    refused = []
    for group in _updates():
        needing = [n for n in group if outcomes[n].outcome is Outcome.NEW_STACK]
        for name in needing:
            _refused_and_unchanged(account, current, name, values[name])
            refused.append(name)
        group = [n for n in group if n not in needing]
        if not group:
            continue
        current.update({name: values[name] for name in group})
        _executed_as_the_table_says(account, group, current, outcomes)
        taken = _stack_parameters(account)
        resources = account.resources(STACK)
        for name in group:
            if name not in ssm_typed:
                assert taken[name] == values[name], f"{name}: the stack holds {taken[name]!r}"
            try:
                UPDATES[name].read_back(account, resources, values[name])
            except AssertionError as err:
                raise AssertionError(f"{name}={values[name]} not visible after the update: {err}") from err
    assert sorted(refused) == sorted(p for p, o in outcomes.items() if o.outcome is Outcome.NEW_STACK)


def test_an_alarm_threshold_and_max_size_update_executes(account: Account) -> None:
    # Reported: CpuAlarmThreshold 80 to 75 with MaxSize 3 to 4 made the emulator answer HTTP 500 on execute after
    # the group had changed, and deploy.py reported a bug (exit 1).
    assert _deploy(account, INITIAL) == 0
    assert _deploy(account, {**INITIAL, "CpuAlarmThreshold": "75", "MaxSize": "4"}) == 0
    assert account.stack(STACK)["StackStatus"] == "UPDATE_COMPLETE"
    assert _stack_parameters(account)["CpuAlarmThreshold"] == "75"
    assert _group(account, account.resources(STACK))["MaxSize"] == 4

"""AWS Control Tower proactive controls: the key policy's grant restriction evaluated request by request, and the
controls' cfn-guard rules (shipped with the cdklabs.cdk-validator-cfnguard wheel) run over output/tap-stack.json."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import shutil
import stat
import subprocess
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.template_helpers import props
from tests.unit._policy_eval import ACCOUNT, Request, decide

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "output" / "tap-stack.json"
EXCEPTIONS = Path(__file__).with_name("control_tower_exceptions.toml")
GUARD_WHEEL = "cdklabs.cdk-validator-cfnguard"
RULES_IN_PACKAGE = "package/rules/control-tower/cfn-guard/"

# The rule folders that cover each service of the stack. A service with no controls in the package maps to ().
RULE_FOLDERS = {
    "AWS::AutoScaling": ("ec2autoscaling",),
    "AWS::CloudFormation": (),
    "AWS::CloudFront": ("cloudfront",),
    "AWS::CloudWatch": ("cloudwatch",),
    "AWS::EC2": ("ec2",),
    "AWS::ElasticLoadBalancingV2": ("elasticloadbalancing",),
    "AWS::IAM": ("identityandaccessmanagement",),
    "AWS::KMS": ("keymanagementservice",),
    "AWS::Logs": ("cloudwatch",),
    "AWS::S3": ("s3",),
    "AWS::SNS": (),
}

AUTOSCALING_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
)
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Admin"
OTHER_ACCOUNT_ROLE = "arn:aws:iam::444455556666:role/AWSServiceRoleForAutoScaling"


def _as_role(arn: str, **context: str) -> dict[str, str]:
    return {"aws:PrincipalArn": arn, "aws:PrincipalAccount": arn.split(":")[4], **context}


# (case, request, decision) for the stack key's policy.
KEY_REQUESTS = [
    (
        "Auto Scaling attaches an encrypted volume (a grant for an AWS resource)",
        Request(
            "kms:CreateGrant",
            ("AWS", AUTOSCALING_ROLE),
            _as_role(
                AUTOSCALING_ROLE,
                **{"kms:GrantIsForAWSResource": "true", "aws:PrincipalIsAWSService": "false"},
            ),
        ),
        "Allow",
    ),
    (
        "Auto Scaling creates a grant for something that is not an AWS resource",
        Request(
            "kms:CreateGrant",
            ("AWS", AUTOSCALING_ROLE),
            _as_role(
                AUTOSCALING_ROLE,
                **{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"},
            ),
        ),
        "Deny",
    ),
    (
        "Auto Scaling encrypts a volume's data key",
        Request("kms:GenerateDataKeyWithoutPlaintext", ("AWS", AUTOSCALING_ROLE), _as_role(AUTOSCALING_ROLE)),
        "Allow",
    ),
    (
        "an administrator allowed by IAM hands out a grant of their own",
        Request("kms:CreateGrant", ("AWS", ADMIN), _as_role(ADMIN), iam_allows=True),
        "Deny",
    ),
    (
        "an administrator allowed by IAM creates a grant for an AWS resource",
        Request(
            "kms:CreateGrant",
            ("AWS", ADMIN),
            _as_role(ADMIN, **{"kms:GrantIsForAWSResource": "true"}),
            iam_allows=True,
        ),
        "Allow",
    ),
    (
        "an administrator allowed by IAM decrypts",
        Request("kms:Decrypt", ("AWS", ADMIN), _as_role(ADMIN), iam_allows=True),
        "Allow",
    ),
    (
        "the same role name in another account",
        Request(
            "kms:CreateGrant",
            ("AWS", OTHER_ACCOUNT_ROLE),
            _as_role(OTHER_ACCOUNT_ROLE, **{"kms:GrantIsForAWSResource": "true"}),
        ),
        "ImplicitDeny",
    ),
    (
        "CloudWatch Logs encrypts a stack log group",
        Request(
            "kms:GenerateDataKey",
            ("Service", "logs.eu-west-1.amazonaws.com"),
            {
                "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/tap/dev/web/access",
                "aws:PrincipalIsAWSService": "true",
            },
        ),
        "Allow",
    ),
]


@pytest.mark.parametrize(("case", "request_", "decision"), KEY_REQUESTS, ids=[c for c, _, _ in KEY_REQUESTS])
def test_key_policy_limits_grants_to_aws_resources_and_keeps_auto_scaling_working(
    tpl: dict[str, Any], case: str, request_: Request, decision: str
) -> None:
    assert decide(props(tpl, "KmsKey")["KeyPolicy"], request_) == decision, case


def test_key_policy_grant_deny_has_the_shape_ct_kms_pr_3_requires(tpl: dict[str, Any]) -> None:
    denies = [s for s in props(tpl, "KmsKey")["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
    assert denies == [
        {
            "Sid": "DenyGrantsExceptForAwsResourcesAndServices",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["kms:CreateGrant"],
            "Resource": ["*"],
            "Condition": {
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            },
        }
    ]


# --- The Control Tower rules, run with cfn-guard ---------------------------------------------------------------


def _package_archive() -> Path:
    dist = importlib.metadata.distribution(GUARD_WHEEL)
    (archive,) = [f for f in dist.files or [] if str(f).endswith(".jsii.tgz")]
    return Path(str(dist.locate_file(archive)))


def _guard_binary_member() -> str:
    system = {"Linux": "ubuntu", "Darwin": "macos"}[platform.system()]
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[
        platform.machine().lower()
    ]
    return f"package/bin/{system}/{arch}/cfn-guard"


def _services(stack: dict[str, Any]) -> set[str]:
    return {"::".join(r["Type"].split("::")[:2]) for r in stack["Resources"].values()}


@pytest.fixture(scope="session")
def guard_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(cfn-guard binary, one folder with the rules of every service the stack uses), from the wheel."""
    target = tmp_path_factory.mktemp("control-tower")
    rules = target / "rules"
    rules.mkdir()
    folders = {f for fs in RULE_FOLDERS.values() for f in fs}
    binary = target / "cfn-guard"
    with tarfile.open(_package_archive()) as archive:
        member = archive.getmember(_guard_binary_member())
        with archive.extractfile(member) as source, binary.open("wb") as sink:  # type: ignore[union-attr]
            shutil.copyfileobj(source, sink)
        for member in archive.getmembers():
            parts = member.name.removeprefix(RULES_IN_PACKAGE).split("/")
            if (
                member.name.startswith(RULES_IN_PACKAGE)
                and len(parts) == 2
                and parts[0] in folders
                and member.isfile()
            ):
                (rules / parts[1]).write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return binary, rules


def _documents(text: str) -> list[dict[str, Any]]:
    """cfn-guard's JSON output: one object per rule file, written one after another."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        found.append(document)
    return found


@pytest.fixture(scope="session")
def guard_report(guard_setup: tuple[Path, Path]) -> list[dict[str, Any]]:
    binary, rules = guard_setup
    result = subprocess.run(
        [
            str(binary),
            "validate",
            "--rules",
            str(rules),
            "--data",
            str(STACK),
            "--output-format",
            "json",
            "--show-summary",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # 0: every rule passed; 19: some rule failed. Anything else is cfn-guard unable to read the template or rules.
    assert result.returncode in (0, 19), result.stderr
    return _documents(result.stdout)


def _failures(report: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(control id, logical id) of every failed check."""
    failed = set()
    for document in report:
        for rule in document["not_compliant"]:
            text = json.dumps(rule)
            controls = set(re.findall(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]", text))
            resources = set(re.findall(r"/Resources/([A-Za-z0-9]+)", text))
            assert controls and resources, f"cannot tell which control or resource failed: {text[:300]}"
            failed |= {(c, r) for c in controls for r in resources}
    return failed


def _exceptions() -> dict[tuple[str, str], str]:
    entries = tomllib.loads(EXCEPTIONS.read_text(encoding="utf-8"))["exception"]
    accepted = {}
    for entry in entries:
        assert len(entry["reason"].split()) >= 10, f"{entry['control']}: give a reason a reviewer can judge"
        for resource in entry["resources"]:
            accepted[(entry["control"], resource)] = entry["reason"]
    return accepted


def test_every_service_of_the_stack_has_its_control_tower_rules() -> None:
    stack = json.loads(STACK.read_text(encoding="utf-8"))
    unmapped = _services(stack) - set(RULE_FOLDERS)
    assert not unmapped, f"add the Control Tower rule folders of {sorted(unmapped)} to RULE_FOLDERS"
    with tarfile.open(_package_archive()) as archive:
        shipped = {
            m.name.removeprefix(RULES_IN_PACKAGE).split("/")[0]
            for m in archive.getmembers()
            if m.name.startswith(RULES_IN_PACKAGE)
        }
    for service, folders in RULE_FOLDERS.items():
        assert set(folders) <= shipped, f"{service}: {set(folders) - shipped} not in the package"
        if not folders:
            assert service.split("::")[1].lower() not in shipped, f"{service} has controls now: map them"


def test_control_tower_rules_pass_except_the_listed_exceptions(guard_report: list[dict[str, Any]]) -> None:
    failed = _failures(guard_report)
    accepted = _exceptions()
    unexpected = sorted(failed - set(accepted))
    assert not unexpected, f"Control Tower controls failing without an exception: {unexpected}"
    stale = sorted(set(accepted) - failed)
    assert not stale, f"these exceptions no longer fail: remove them from {EXCEPTIONS.name}: {stale}"


def test_control_tower_rules_see_the_stack(guard_report: list[dict[str, Any]]) -> None:
    # Rules that found their resources and passed: the template was read whole, not skipped as unreadable.
    compliant = {name for document in guard_report for name in document["compliant"]}
    for rule in (
        "kms_create_grant_aws_service_check",
        "s3_bucket_policy_ssl_requests_only_check",
        "s3_event_notifications_enabled_check",
        "autoscaling_group_elb_healthcheck_required_check",
        "ec2_launch_template_imdsv2_check",
    ):
        assert rule in compliant, f"{rule} did not pass (or did not run) on {STACK.name}"

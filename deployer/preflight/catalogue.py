"""Every preflight check, registered once: its function, its place in the report and its `--help` entry.

The runner's order, the catalogue `deploy.py preflight --help` prints and the checks table of the ops page's
Account checks all come from CHECKS. One function may report under two names (check_kms: the key, then its
policy); the second name then has no function of its own and only fixes where its findings are listed.

Adding a check: its module and an entry here; its AWS CLI commands on the ops page, or the reason there are none,
in generator/preflight_checks.py; its row in the Preflight table and its line in the AWS CLI block of
docs/deploy.md; the IAM actions of its AWS calls in examples/ci/deploy-role-policy.json. A test fails on each one
left out (tests/unit/test_handoff_preflight.py, tests/deploy/test_preflight_registry.py and test_ci_example.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deployer.preflight import ebs, iam, kms, leftovers, lookups, online, region, s3
from deployer.preflight.model import Finding


@dataclass(frozen=True)
class Check:
    name: str  # the first column of the report, and the name a finding carries
    # (context) -> findings; with online, (context, online.ChangeSetInputs) -> findings. None: findings come
    # from the function of an earlier entry.
    run: Callable[..., list[Finding]] | None
    what: str  # what it looks at (--help)
    fix: str  # what a FAIL tells you to do (--help)
    online: bool = False  # needs the change-set inputs: `deploy.py preflight` only, not deploy's gate


CHECKS: tuple[Check, ...] = (
    Check(
        kms.KEY,
        kms.check_kms,
        "the key given by parameter exists in the stack's region and partition, is Enabled and symmetric",
        "aws kms cancel-key-deletion / enable-key, or another key",
    ),
    Check(
        kms.POLICY,
        None,
        "its policy or grants let every principal of the template's own key policy use it (the Auto "
        "Scaling role for EBS, CloudWatch Logs, alarms via SNS, CloudFront)",
        "the exact statement to add, as JSON",
    ),
    Check(
        iam.CHECK,
        iam.check_service_linked_role,
        "AWSServiceRoleForAutoScaling exists, or the stack creates it, not both",
        "the parameter to set so the stack does not create it; aws iam create-service-linked-role",
    ),
    Check(
        ebs.CHECK,
        ebs.check_ebs_defaults,
        "EBS encryption by default and its key, for volumes without their own key",
        "a KmsKeyId on the volume, or aws ec2 modify-ebs-default-kms-key-id",
    ),
    Check(
        s3.BPA,
        s3.check_public_access_block,
        "account Block Public Access, when the template asks for public access",
        "serve through CloudFront, or aws s3control delete-public-access-block",
    ),
    Check(
        s3.NAMES,
        s3.check_bucket_names,
        "every bucket name is valid and free (403: another account's; 200: this account's, held by a live "
        "stack or by none)",
        "a live stack's name or another account's: another EnvironmentSuffix; held by no stack: adopt it "
        "(IMPORT) or remove it",
    ),
    Check(
        leftovers.CHECK,
        leftovers.check_leftovers,
        "no log group, KMS alias or dashboard holds a name the stack uses; one that does is a live stack's "
        "(named, from its aws:cloudformation tags or DescribeStackResources) or a leftover of no stack",
        "a live stack's: another EnvironmentSuffix; a leftover: an IMPORT change set, or aws logs "
        "delete-log-group / aws kms delete-alias / aws cloudwatch delete-dashboards",
    ),
    Check(
        region.AZS,
        region.check_availability_zones,
        "the region has as many available zones as the template spreads across",
        "another --region",
    ),
    Check(
        region.QUOTAS,
        region.check_quotas,
        "Elastic IP, NAT gateway, VPC and internet gateway quotas leave room (defaults when unreadable)",
        "aws service-quotas request-service-quota-increase ...",
    ),
    Check(
        lookups.CERTIFICATE,
        lookups.check_certificate,
        "the ACM certificate is ISSUED in the region, unexpired, and covers a name",
        "finish DNS validation, or request one in the region",
    ),
    Check(
        lookups.SSM,
        lookups.check_ssm_parameters,
        "each SSM parameter (the AMI) resolves, to an AMI id where the type says so",
        "an existing parameter name",
    ),
    Check(
        region.INSTANCE_TYPE,
        region.check_instance_type,
        "the instance type is offered in every zone the group uses",
        "another InstanceType (aws ec2 describe-instance-type-offerings)",
    ),
    Check(
        online.CHECK,
        online.check_online,
        "preflight only: CloudFormation validates a change set (DescribeEvents, hook results) that is then "
        "deleted, with the REVIEW_IN_PROGRESS stack only if preflight made it and it holds no other change set",
        "what CloudFormation's message says",
        online=True,
    ),
)


def order() -> tuple[str, ...]:
    """The report's order: the registry's."""
    return tuple(check.name for check in CHECKS)


def runnable(online_inputs: Any = None) -> list[Callable[..., list[Finding]]]:
    """The functions to run, in registry order; the online ones only when their change-set inputs are given."""
    out: list[Callable[..., list[Finding]]] = []
    for check in CHECKS:
        if check.run is None or (check.online and online_inputs is None):
            continue
        out.append(_with_inputs(check.run, online_inputs) if check.online else check.run)
    return out


def _with_inputs(run: Callable[..., list[Finding]], inputs: Any) -> Callable[..., list[Finding]]:
    def call(ctx: Any) -> list[Finding]:
        return run(ctx, inputs)

    return call


def help_text() -> str:
    width = max(len(check.name) for check in CHECKS)
    lines = ["checks (PASS / INFO / WARN / FAIL; only FAIL stops, with exit 13):"]
    for check in CHECKS:
        lines.append(f"  {check.name:<{width}}  {check.what}")
        lines.append(f"  {'':<{width}}  fix: {check.fix}")
    gate = ", ".join(check.name for check in CHECKS if check.online)
    lines.append(
        f"access denied is a WARN naming the permission; deploy and plan run every check but {gate} before "
        "their change set, printing only the WARN and FAIL lines (--skip-preflight to opt out)"
    )
    return "\n".join(lines)

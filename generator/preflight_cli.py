"""The account checks of `deploy.py preflight`, as plain AWS CLI commands with the answer that means "go".

Everything checked is read from the template: the names it fixes, the quotas its resources consume, the
parameters that bring a key or a certificate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfnspec.limits import INLINE_ROLE_POLICY_LIMIT, MANAGED_POLICY_LIMIT
from cfnspec.quotas import QUOTAS, Quota
from cfnspec.resource_kinds import BUCKET, NAME_LISTS
from cfnspec.stateful import NAME_PROPERTIES
from generator import defaults, describe, permissions, preflight_checks
from generator.markdown import code, fenced, table
from generator.shell import as_shell, guarded, not_rehearsable

Template = Mapping[str, Any]


# An AWS CLI command that prints how many of each quota's resources are in use.
QUOTA_USAGE = {
    "AWS::EC2::EIP": "aws ec2 describe-addresses --region \"$REGION\" --query 'length(Addresses)'",
    "AWS::EC2::NatGateway": 'aws ec2 describe-nat-gateways --region "$REGION" --filter '
    "Name=state,Values=available,pending --query 'length(NatGateways)'",
    "AWS::EC2::VPC": "aws ec2 describe-vpcs --region \"$REGION\" --query 'length(Vpcs)'",
    "AWS::EC2::InternetGateway": 'aws ec2 describe-internet-gateways --region "$REGION" '
    "--query 'length(InternetGateways)'",
}


def _fixed_names(t: Template, *types: str) -> list[tuple[str, str, str]]:
    """(logical id, type, shell string) of each resource of these types whose name the template fixes."""
    found = []
    for logical_id, r in describe.resources(t).items():
        rtype = str(r.get("Type"))
        prop = NAME_PROPERTIES.get(rtype)
        if rtype in types and prop:
            name = as_shell(r.get("Properties", {}).get(prop))
            if name:
                found.append((logical_id, rtype, name))
    return found


def leftover_script(t: Template) -> str:
    """Find what an earlier stack (or a failed first create) left holding a name this stack needs.

    The names `deploy.py preflight` looks up (cfnspec.resource_kinds.NAME_LISTS, its leftovers check), then the
    buckets (its bucket-names check).
    """
    lines = ["# Each line should print nothing, or 'free'. A name printed is held by a leftover."]
    for rtype, lookup in NAME_LISTS.items():
        for logical_id, _rtype, name in _fixed_names(t, rtype):
            lines.append(lookup.cli(name, logical_id))
    for logical_id, _rtype, name in _fixed_names(t, BUCKET):
        lines += [
            f"# {logical_id}: 'free' (404) is good; 'this account' is a leftover, 'another account' (403) needs "
            "another EnvironmentSuffix.",
            f"if OUT=$(aws s3api head-bucket --bucket {name} 2>&1); then echo {name}': this account';",
            f'elif echo "$OUT" | grep -q 404; then echo {name}": free";',
            f'else echo {name}": another account ($OUT)"; fi',
        ]
    return "\n".join(lines)


def _defaults_text(used: list[Quota]) -> str:
    values = {q.default for q in used}
    return (
        f"{values.pop()} for each of these"
        if len(values) == 1
        else "; ".join(f"{q.name}: {q.default}" for q in used)
    )


def _quota_section(t: Template) -> list[str]:
    at = defaults.scope(t)
    rows, quotas, usage, used = [], [], [], []
    for q in QUOTAS:
        n = defaults.count(t, q.resource_type, at)
        if not n:
            continue
        rows.append([q.name, code(q.resource_type), str(n), code(f"{q.service} {q.code}")])
        used.append(q)
        quotas += [
            f"printf '%s' '{q.name} quota (the stack adds {n}): '",
            f'aws service-quotas get-service-quota --region "$REGION" --service-code {q.service} '
            f"--quota-code {q.code} --query 'Quota.Value' --output text",
        ]
        usage += [f"printf '%s' '{q.name} in use: '", QUOTA_USAGE[q.resource_type]]
    if not rows:
        return []
    return [
        "### Quotas the stack consumes",
        "",
        "Counted from the template at the default parameters (the single-NAT option uses fewer):",
        "",
        *table(["Quota", "Resource type", "Stack uses", "Service and quota code"], rows),
        "",
        "Read each quota, then what is in use: the quota minus the number in use must be at least what the "
        "stack adds. Where the account has never changed a quota, `get-service-quota` may answer "
        "NoSuchResourceException: `get-aws-default-service-quota` with the same arguments gives the default "
        f"({_defaults_text(used)}). Raise one with `aws service-quotas request-service-quota-increase`.",
        "",
        *not_rehearsable("the emulator has no EC2 or VPC service quotas"),
        *fenced("sh", guarded(quotas)),
        "",
        *fenced("sh", guarded(usage)),
        "",
    ]


def _permissions_section(name: str, t: Template) -> list[str]:
    body = permissions.render_policy(t)
    chars = len("".join(body.split()))
    fits = (
        f"{chars:,} characters without whitespace: it fits one managed policy ({MANAGED_POLICY_LIMIT:,})"
        if chars <= MANAGED_POLICY_LIMIT
        else f"{chars:,} characters without whitespace: over the {MANAGED_POLICY_LIMIT:,} of one managed "
        f"policy, so attach it as an inline policy of the deploying role (up to {INLINE_ROLE_POLICY_LIMIT:,})"
    )
    return [
        "### Permissions of whoever deploys",
        "",
        f"{code(permissions.policy_file_name(name))} (next to the template) holds every IAM action "
        f"CloudFormation calls for the {len(permissions.resource_types(t))} resource types of the template "
        "(from each type's registry schema: its create, read, update and delete handlers) and the "
        "CloudFormation and S3 calls of the commands on this page. It is "
        f"{fits}. Narrow `Resource` to your account's ARNs if your policies require it.",
        "",
        *not_rehearsable("names a role of yours that the emulator does not have"),
        *fenced(
            "sh",
            "DEPLOY_ROLE=replace-with-your-deploy-role-name\n"
            f'aws iam put-role-policy --role-name "$DEPLOY_ROLE" --policy-name {name}-deploy \\\n'
            f"  --policy-document file://output/{permissions.policy_file_name(name)}",
        ),
        "",
    ]


def _parameter_checks(t: Template) -> str:
    params = t.get("Parameters", {})
    lines = []
    if "KmsKeyArn" in params:
        lines += [
            "# A key you bring (KmsKeyArn): Enabled and SYMMETRIC_DEFAULT, and its policy names the Auto Scaling",
            "# service-linked role (see 'Bringing your own KMS key' below). Nothing printed: the stack makes its own.",
            'KMS_KEY_ARN=$(jq -r \'.Parameters.KmsKeyArn // ""\' "$PARAMS")',
            'if [ -n "$KMS_KEY_ARN" ]; then',
            '  aws kms describe-key --region "$REGION" --key-id "$KMS_KEY_ARN" \\',
            "    --query 'KeyMetadata.[KeyState,KeySpec]' --output text",
            '  aws kms get-key-policy --region "$REGION" --key-id "$KMS_KEY_ARN" --policy-name default \\',
            "    --query Policy --output text | grep -c AWSServiceRoleForAutoScaling",
            "fi",
        ]
    if "CertificateArn" in params:
        lines += [
            "# A certificate (CertificateArn): ISSUED, in $REGION, not expired. Nothing printed: HTTP only.",
            'CERTIFICATE_ARN=$(jq -r \'.Parameters.CertificateArn // ""\' "$PARAMS")',
            'if [ -n "$CERTIFICATE_ARN" ]; then',
            '  aws acm describe-certificate --region "$REGION" --certificate-arn "$CERTIFICATE_ARN" \\',
            "    --query 'Certificate.[Status,NotAfter,DomainName]' --output text",
            "fi",
        ]
    for p, spec in params.items():
        if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and "Default" in spec:
            lines += [
                f"# {p}: the SSM parameter resolves to an AMI id (ami-...).",
                f'aws ssm get-parameters --region "$REGION" --names {spec["Default"]} '
                "--query 'Parameters[0].Value' --output text",
            ]
    if "InstanceType" in params:
        lines += [
            "# InstanceType: offered in the zones the stack uses (prints one zone per line).",
            "INSTANCE_TYPE=$(jq -r '.Parameters.InstanceType // \""
            + str(params["InstanceType"].get("Default", ""))
            + '"\' "$PARAMS")',
            'aws ec2 describe-instance-type-offerings --region "$REGION" --location-type availability-zone \\',
            "  --filters Name=instance-type,Values=\"$INSTANCE_TYPE\" --query 'InstanceTypeOfferings[].Location' "
            "--output text",
        ]
    return "\n".join(lines)


def checks_section(name: str, t: Template) -> list[str]:
    account = [
        "# Availability Zones: at least two 'available'.",
        'aws ec2 describe-availability-zones --region "$REGION" '
        "--query \"AvailabilityZones[?State=='available'].ZoneName\" --output text",
        "# EBS encryption by default (True/False) and its key: the launch template names its own key, so",
        "# either answer works; a default key you manage must also let the Auto Scaling role use it.",
        'aws ec2 get-ebs-encryption-by-default --region "$REGION" --query EbsEncryptionByDefault',
    ]
    if describe.service_linked_roles(t) or describe.has_type(t, "AWS::AutoScaling::AutoScalingGroup"):
        account += [
            "# The Auto Scaling service-linked role: its name printed means it exists. Either way leave",
            "# CreateAutoScalingServiceLinkedRole false: a missing role is created by Auto Scaling on first use.",
            "aws iam list-roles --path-prefix /aws-service-role/autoscaling.amazonaws.com/ "
            "--query 'Roles[].RoleName' --output text",
        ]
    public_access = (
        [
            "Account S3 Block Public Access: the stack's buckets are private and served through CloudFront, so "
            "all four settings `True`, or the error NoSuchPublicAccessBlockConfiguration (none set), is fine:",
            "",
            *not_rehearsable(
                "S3 Control puts the account id in the host name, which a loopback endpoint does not serve"
            ),
            *fenced(
                "sh",
                guarded(
                    [
                        'aws s3control get-public-access-block --region "$REGION" --account-id "$ACCOUNT_ID" '
                        "--query PublicAccessBlockConfiguration --output text"
                    ]
                ),
            ),
            "",
        ]
        if describe.has_type(t, "AWS::S3::Bucket")
        else []
    )
    body = [
        "The commands, with the answer that means go in the comment above each:",
        "",
        *fenced("sh", guarded(account)),
        "",
        "The key EBS uses by default, when encryption by default is on (`alias/aws/ebs` or a key of yours):",
        "",
        *not_rehearsable("the emulator does not implement GetEbsDefaultKmsKeyId"),
        *fenced(
            "sh",
            guarded(['aws ec2 get-ebs-default-kms-key-id --region "$REGION" --query KmsKeyId --output text']),
        ),
        "",
        *public_access,
        "The values in your parameter file:",
        "",
        *fenced("sh", guarded(_parameter_checks(t).split("\n"))),
        "",
        "Names the stack fixes must be free: an earlier stack of the same environment, or a failed first "
        "create, leaves retained resources that keep them (see Tearing down for how to remove or adopt them):",
        "",
        *fenced("sh", guarded(leftover_script(t).split("\n"))),
        "",
        *_quota_section(t),
    ]
    return [
        "### Account checks",
        "",
        "The checks `deploy.py preflight` makes, in its order, and the commands below that ask the same questions "
        "(`deploy.py preflight --help` prints the fix each one gives):",
        "",
        *preflight_checks.checks_table(_shell_text(body)),
        "",
        *body,
        *_permissions_section(name, t),
    ]


def _shell_text(lines: list[str]) -> str:
    """The contents of the fenced shell blocks among these lines."""
    shell, inside = [], False
    for line in lines:
        if line.startswith("```"):
            inside = line == "```sh"
        elif inside:
            shell.append(line)
    return "\n".join(shell)

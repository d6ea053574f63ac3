"""The checks as `deploy.py preflight --help` lists them: what each looks at, and the fix a FAIL prints."""

from __future__ import annotations

CATALOGUE: tuple[tuple[str, str, str], ...] = (
    (
        "kms-key",
        "the key given by parameter exists in the stack's region and partition, is Enabled and symmetric",
        "aws kms cancel-key-deletion / enable-key, or another key",
    ),
    (
        "kms-policy",
        "its policy or grants let every principal of the template's own key policy use it (the Auto "
        "Scaling role for EBS, CloudWatch Logs, alarms via SNS, CloudFront)",
        "the exact statement to add, as JSON",
    ),
    (
        "service-linked-role",
        "AWSServiceRoleForAutoScaling exists, or the stack creates it, not both",
        "the parameter to set so the stack does not create it; aws iam create-service-linked-role",
    ),
    (
        "ebs-defaults",
        "EBS encryption by default and its key, for volumes without their own key",
        "a KmsKeyId on the volume, or aws ec2 modify-ebs-default-kms-key-id",
    ),
    (
        "s3-public-access",
        "account Block Public Access, when the template asks for public access",
        "serve through CloudFront, or aws s3control delete-public-access-block",
    ),
    (
        "bucket-names",
        "every bucket name is valid and free (403: another account's; 200: this account's, held by a live "
        "stack or by none)",
        "a live stack's name or another account's: another EnvironmentSuffix; held by no stack: adopt it "
        "(IMPORT) or remove it",
    ),
    (
        "leftovers",
        "no log group or KMS alias holds a name the stack uses; one that does is a live stack's (named, "
        "from its aws:cloudformation tags or DescribeStackResources) or a leftover of no stack",
        "a live stack's: another EnvironmentSuffix; a leftover: an IMPORT change set, or aws logs "
        "delete-log-group / aws kms delete-alias",
    ),
    (
        "availability-zones",
        "the region has as many available zones as the template spreads across",
        "another --region",
    ),
    (
        "quotas",
        "Elastic IP, NAT gateway, VPC and internet gateway quotas leave room (defaults when unreadable)",
        "aws service-quotas request-service-quota-increase ...",
    ),
    (
        "certificate",
        "the ACM certificate is ISSUED in the region, unexpired, and covers a name",
        "finish DNS validation, or request one in the region",
    ),
    (
        "ssm-parameters",
        "each SSM parameter (the AMI) resolves, to an AMI id where the type says so",
        "an existing parameter name",
    ),
    (
        "instance-type",
        "the instance type is offered in every zone the group uses",
        "another InstanceType (aws ec2 describe-instance-type-offerings)",
    ),
    (
        "online-validation",
        "preflight only: CloudFormation validates a change set (DescribeEvents, hook results) that is then "
        "deleted, with the REVIEW_IN_PROGRESS stack only if preflight made it and it holds no other change set",
        "what CloudFormation's message says",
    ),
)


def help_text() -> str:
    width = max(len(name) for name, _, _ in CATALOGUE)
    lines = ["checks (PASS / INFO / WARN / FAIL; only FAIL stops, with exit 13):"]
    for name, what, fix in CATALOGUE:
        lines.append(f"  {name:<{width}}  {what}")
        lines.append(f"  {'':<{width}}  fix: {fix}")
    lines.append(
        "access denied is a WARN naming the permission; deploy and plan run every check but "
        "online-validation before their change set (--skip-preflight to opt out)"
    )
    return "\n".join(lines)

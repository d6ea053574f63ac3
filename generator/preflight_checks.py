"""Which AWS CLI commands of the page's Account checks ask each preflight check's question.

The checks, their order and what each looks at come from the registry (deployer.preflight.catalogue.CHECKS); only
the commands are written here, keyed by the registry's names. A check registered without an entry in CLI_COMMANDS
or NO_CLI, or an entry for a name no longer registered, stops the page and so `generate.py`.
"""

from __future__ import annotations

import re

from botocore import xform_name

from cfnspec.resource_kinds import NAME_LISTS
from deployer.preflight import catalogue, ebs, iam, kms, leftovers, lookups, online, region, s3
from generator.markdown import code, table

# The commands (as the section's shell blocks spell them) that ask what each check asks; preflight also judges
# the answers, which the comments above the commands leave to the reader.
CLI_COMMANDS: dict[str, tuple[str, ...]] = {
    kms.KEY: ("aws kms describe-key",),
    kms.POLICY: ("aws kms get-key-policy",),
    iam.CHECK: ("aws iam list-roles",),
    ebs.CHECK: ("aws ec2 get-ebs-encryption-by-default", "aws ec2 get-ebs-default-kms-key-id"),
    s3.BPA: ("aws s3control get-public-access-block",),
    s3.NAMES: ("aws s3api head-bucket",),
    # The free-name script runs each type's list call of cfnspec's table, as the check does.
    leftovers.CHECK: tuple(
        dict.fromkeys(f"aws {n.service} {xform_name(n.operation, '-')}" for n in NAME_LISTS.values())
    ),
    region.AZS: ("aws ec2 describe-availability-zones",),
    region.QUOTAS: ("aws service-quotas get-service-quota",),
    lookups.CERTIFICATE: ("aws acm describe-certificate",),
    lookups.SSM: ("aws ssm get-parameters",),
    region.INSTANCE_TYPE: ("aws ec2 describe-instance-type-offerings",),
}

# Checks this section has no command for, and why.
NO_CLI: dict[str, str] = {
    online.CHECK: "the change set of Creating the stack (or Updating) is this validation: CloudFormation "
    "validates it when it is created, and `wait change-set-create-complete` stops on a FAILED one before "
    "anything is executed",
}

NOTHING_HERE = "none: the template gives this check nothing to look at"


class UnlistedCheck(ValueError):
    """The registry and this module's entries disagree."""


def _verify_entries() -> None:
    registered = set(catalogue.order())
    missing = sorted(registered - set(CLI_COMMANDS) - set(NO_CLI))
    if missing:
        raise UnlistedCheck(
            f"preflight check {', '.join(missing)} has no entry in generator/preflight_checks.py: add the AWS CLI "
            "commands that ask its question to CLI_COMMANDS, or the reason the page has none to NO_CLI"
        )
    stale = sorted((set(CLI_COMMANDS) | set(NO_CLI)) - registered)
    both = sorted(set(CLI_COMMANDS) & set(NO_CLI))
    if stale or both:
        raise UnlistedCheck(
            f"generator/preflight_checks.py lists {', '.join(stale + both)}: remove entries for names the "
            "preflight registry does not have, and keep each name in one of CLI_COMMANDS and NO_CLI"
        )


def _asked(command: str, shell: str) -> bool:
    return re.search(rf"(?m)(?:^|[\s(]){re.escape(command)}(?=\s|$)", shell) is not None


def checks_table(shell: str) -> list[str]:
    """One row per registered check, in the registry's order, with the commands of `shell` that ask its question."""
    _verify_entries()
    rows = []
    for check in catalogue.CHECKS:
        if check.name in NO_CLI:
            where = f"none: {NO_CLI[check.name]}"
        else:
            asked = [code(c) for c in CLI_COMMANDS[check.name] if _asked(c, shell)]
            where = ", ".join(asked) or NOTHING_HERE
        rows.append([code(check.name), check.what, where])
    return table(["Check", "What it looks at", "AWS CLI below"], rows)

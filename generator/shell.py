"""Shell text shared by the page's command blocks: the variables block every other block relies on, and names
of resources written as shell strings.

Every block on the page uses only the variables the first block sets (or sets its own), so a block can be run
on its own after that one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cfnspec.limits import DEFAULT_REGION
from cfnspec.limits import INLINE_TEMPLATE_LIMIT as INLINE_LIMIT

Template = Mapping[str, Any]
BUCKET_PLACEHOLDER = "replace-with-your-bucket-name"
NOT_REHEARSABLE = "<!-- not-rehearsable: {reason} -->"
PSEUDO_VARIABLES = {"AWS::AccountId": "ACCOUNT_ID", "AWS::Region": "REGION", "AWS::Partition": "PARTITION"}


def variable(parameter: str) -> str:
    """EnvironmentSuffix -> ENVIRONMENT_SUFFIX."""
    return PSEUDO_VARIABLES.get(parameter) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parameter).upper()


def sub_parameters(value: Any) -> list[str]:
    """Template parameters a Fn::Sub name uses (pseudo parameters excluded)."""
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return [m for m in re.findall(r"\$\{([^}!.]+)\}", value["Fn::Sub"]) if "::" not in m]
    return []


def as_shell(value: Any) -> str | None:
    """A literal or Fn::Sub name as a double-quoted shell string; None for anything else."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return (
            '"'
            + re.sub(r"\$\{([^}!.]+)\}", lambda m: "${" + variable(m.group(1)) + "}", value["Fn::Sub"])
            + '"'
        )
    return None


def named_parameters(t: Template) -> list[str]:
    """Parameters that resource names are made of: the variables block reads each from the parameter file."""
    found: list[str] = []
    for r in t.get("Resources", {}).values():
        for value in r.get("Properties", {}).values():
            for p in sub_parameters(value):
                if p in t.get("Parameters", {}) and p not in found:
                    found.append(p)
    return found


def variables_block(name: str, t: Template, env: str, size: int) -> str:
    lines = [
        f"REGION={DEFAULT_REGION}                      # the region to deploy to",
        f"STACK_NAME={name}-{env}",
        "# Your working copy of a parameter file: edit it, never the generated one in output/.",
        "PARAMS=$STACK_NAME.parameters.json",
        f'[ -f "$PARAMS" ] || cp output/{name}.{env}.parameters.json "$PARAMS"',
        f"BUCKET={BUCKET_PLACEHOLDER}  # an S3 bucket of yours in $REGION for the template",
        "ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)",
        "PARTITION=$(aws sts get-caller-identity --query Arn --output text | cut -d: -f2)",
    ]
    for p in named_parameters(t):
        default = t["Parameters"][p].get("Default", "")
        lines.append(f'{variable(p)}=$(jq -r \'.Parameters.{p} // "{default}"\' "$PARAMS")')
    if size > INLINE_LIMIT:
        lines += [
            f"# The template is over {INLINE_LIMIT:,} bytes, so CloudFormation reads it from S3 at this URL. The",
            "# host names the region, except in us-east-1 (the global host); China ends in .amazonaws.com.cn.",
            'case "$REGION" in',
            "  us-east-1) S3_HOST=s3.amazonaws.com ;;",
            '  cn-*) S3_HOST="s3.$REGION.amazonaws.com.cn" ;;',
            '  *) S3_HOST="s3.$REGION.amazonaws.com" ;;',
            "esac",
            f'TEMPLATE_URL="https://$BUCKET.$S3_HOST/{name}.json"',
        ]
    return "\n".join(lines)


def convert_parameters(params: str = '"$PARAMS"') -> list[str]:
    return [
        "# --parameters and --tags take lists; the parameter file is the template-configuration format.",
        "jq '[.Parameters | to_entries[] | {ParameterKey: .key, ParameterValue: .value}]' "
        f"{params} > parameters.cli.json",
        f"jq '[.Tags // {{}} | to_entries[] | {{Key: .key, Value: .value}}]' {params} > tags.cli.json",
    ]

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


# The placeholders the sample parameter files carry (see each environment's to_fill_in): the variables block
# refuses a working copy that still holds one.
PLACEHOLDER_PATTERN = "replace-with|REPLACE-WITH|example\\.com|111122223333"
NEEDS_VARIABLES = (
    ': "${REGION:?run the variables block first}" "${STACK_NAME:?run the variables block first}"'
)


def not_rehearsable(reason: str) -> list[str]:
    """Visible text for the reader, then the mark the rehearsal skips the next block by."""
    return [f"*Not rehearsed against the emulator: {reason}.*", "", NOT_REHEARSABLE.format(reason=reason)]


def guarded(lines: list[str]) -> str:
    """A block safe to paste: a subshell that stops at its first failure without closing the reader's shell,
    and refuses to start without the variables block."""
    body, heredoc_end = [], None
    for line in lines:
        # A here-document's lines and its terminator stay as written: the shell reads them verbatim.
        body.append(line if heredoc_end or not line else f"  {line}")
        if heredoc_end and line == heredoc_end:
            heredoc_end = None
        elif match := re.search(r"<<-?'?(\w+)'?\s*$", line):
            heredoc_end = match.group(1)
    return "\n".join(["(", "  set -e", f"  {NEEDS_VARIABLES}", *body, ")"])


def variables_block(name: str, t: Template, env: str, size: int) -> str:
    checked = [
        f'  [ -f "$PARAMS" ] || cp output/{name}.{env}.parameters.json "$PARAMS"',
        f"  if grep -Eq '{PLACEHOLDER_PATTERN}' \"$PARAMS\"; then",
        '    echo "$PARAMS still holds a placeholder: replace it, then run this block again:" >&2',
        f"    grep -En '{PLACEHOLDER_PATTERN}' \"$PARAMS\" >&2",
        "  elif ! ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text); then",
        '    echo "no AWS credentials for $REGION: log in (aws configure / aws sso login), then run this block again" >&2',
        "  else",
        "    VARIABLES_OK=yes",
        "  fi",
    ]
    lines = [
        f"REGION={DEFAULT_REGION}                      # the region to deploy to",
        f"STACK_NAME={name}-{env}",
        "# Your working copy of a parameter file: edit it, never the generated one in output/.",
        "PARAMS=$STACK_NAME.parameters.json",
        "VARIABLES_OK=no",
        "if ! jq --version >/dev/null 2>&1; then",
        '  echo "jq is missing: install it (apt-get install jq, yum install jq or brew install jq), then run this block again" >&2',
        "elif ! aws --version >/dev/null 2>&1; then",
        '  echo "the AWS CLI is missing: install v1 or v2, then run this block again" >&2',
        f"elif [ ! -f output/{name}.json ]; then",
        f'  echo "output/{name}.json not found: cd to the folder that holds output/, then run this block again" >&2',
        "else",
        *checked,
        "fi",
        'if [ "$VARIABLES_OK" = yes ]; then',
        "  PARTITION=$(aws sts get-caller-identity --query Arn --output text | cut -d: -f2)",
    ]
    for p in named_parameters(t):
        default = t["Parameters"][p].get("Default", "")
        lines.append(f'  {variable(p)}=$(jq -r \'.Parameters.{p} // "{default}"\' "$PARAMS")')
    lines += [
        "  # The bucket the template is uploaded to: one of this account's own, made by the first upload.",
        '  BUCKET="cfn-templates-$ACCOUNT_ID-$REGION"',
    ]
    if size > INLINE_LIMIT:
        lines += [
            f"  # The template is over {INLINE_LIMIT:,} bytes, so CloudFormation reads it from S3. The host names",
            "  # the region, except in us-east-1 (the global host); China ends in .amazonaws.com.cn.",
            '  case "$REGION" in',
            "    us-east-1) S3_HOST=s3.amazonaws.com ;;",
            '    cn-*) S3_HOST="s3.$REGION.amazonaws.com.cn" ;;',
            '    *) S3_HOST="s3.$REGION.amazonaws.com" ;;',
            "  esac",
        ]
    lines += [
        '  echo "ready: $STACK_NAME in account $ACCOUNT_ID, $REGION, parameters from $PARAMS"',
        "else",
        "  unset REGION  # every other block refuses to run until this block succeeds",
        "fi",
    ]
    return "\n".join(lines)


def sha256_lines(path: str, var: str = "SHA") -> list[str]:
    """The file's sha256 with what the machine has: sha256sum (Linux) or shasum (macOS)."""
    return [f"{var}=$( (sha256sum {path} 2>/dev/null || shasum -a 256 {path}) | cut -d' ' -f1)"]


def convert_parameters(params: str = '"$PARAMS"') -> list[str]:
    return [
        "# --parameters and --tags take lists; the parameter file is the template-configuration format.",
        "jq '[.Parameters | to_entries[] | {ParameterKey: .key, ParameterValue: .value}]' "
        f"{params} > parameters.cli.json",
        f"jq '[.Tags // {{}} | to_entries[] | {{Key: .key, Value: .value}}]' {params} > tags.cli.json",
    ]

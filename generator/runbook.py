"""The hand-off page's operational sections: console steps, AWS CLI commands, validation.

The commands are plain AWS CLI (v2) and jq, for a team that deploys without this project's Python. Every
shell block is a complete script: it parses as bash, and its placeholders are values to replace, never
`<...>` (which the shell would read as a redirection).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from cfnspec.limits import DEFAULT_REGION
from cfnspec.limits import INLINE_TEMPLATE_LIMIT as INLINE_LIMIT
from generator import describe
from generator.environments import Environment
from generator.markdown import code, fenced

BUCKET_PLACEHOLDER = "replace-with-your-bucket-name"
SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value"


def needs_upload(size: int) -> bool:
    return size > INLINE_LIMIT


def _template_source(size: int, name: str) -> str:
    return (
        '--template-url "$TEMPLATE_URL"'
        if needs_upload(size)
        else f"--template-body file://output/{name}.json"
    )


def _upload_lines(name: str, size: int) -> list[str]:
    """Upload a template too large for --template-body, and set TEMPLATE_URL to its https URL."""
    return [
        f"# The template is {size:,} bytes, over the {INLINE_LIMIT:,}-byte limit for --template-body: upload it",
        '# to an S3 bucket of yours in $REGION (none yet? aws s3 mb "s3://$BUCKET" --region "$REGION").',
        f"BUCKET={BUCKET_PLACEHOLDER}",
        f'aws s3 cp output/{name}.json "s3://$BUCKET/{name}.json" --region "$REGION"',
        "# Its virtual-hosted-style https URL. The host names the region, except in us-east-1 (the global",
        "# host, as the S3 console shows it); the China regions end in .amazonaws.com.cn.",
        'case "$REGION" in',
        "  us-east-1) S3_HOST=s3.amazonaws.com ;;",
        '  cn-*) S3_HOST="s3.$REGION.amazonaws.com.cn" ;;',
        '  *) S3_HOST="s3.$REGION.amazonaws.com" ;;',
        "esac",
        f'TEMPLATE_URL="https://$BUCKET.$S3_HOST/{name}.json"',
    ]


def setup_script(name: str, size: int, env: str) -> str:
    lines = [
        f"REGION={DEFAULT_REGION}",
        f"STACK_NAME={name}-{env}",
        f"PARAMS=output/{name}.{env}.parameters.json",
        "",
        "# --parameters and --tags take lists; the parameter files are the template-configuration format.",
        "jq '[.Parameters | to_entries[] | {ParameterKey: .key, ParameterValue: .value}]' \"$PARAMS\""
        " > parameters.cli.json",
        "jq '[.Tags // {} | to_entries[] | {Key: .key, Value: .value}]' \"$PARAMS\" > tags.cli.json",
    ]
    if needs_upload(size):
        lines += ["", *_upload_lines(name, size)]
    return "\n".join(lines)


def capability_names(t: Mapping[str, Any]) -> list[str]:
    return [cap for cap, _ in describe.capabilities(t)]


def _change_set_script(name: str, t: Mapping[str, Any], size: int, kind: str) -> str:
    waiter = "stack-create-complete" if kind == "CREATE" else "stack-update-complete"
    caps = capability_names(t)
    lines = [
        f"CHANGE_SET={kind.lower()}-$(date -u +%Y%m%d-%H%M%S)",
        "",
        "# 1. Create the change set: CloudFormation checks every parameter value and rule now, and changes "
        "nothing yet.",
        'aws cloudformation create-change-set --region "$REGION" --stack-name "$STACK_NAME" \\',
        f'  --change-set-name "$CHANGE_SET" --change-set-type {kind} \\',
        f"  {_template_source(size, name)} \\",
        "  --parameters file://parameters.cli.json --tags file://tags.cli.json"
        + (f" \\\n  --capabilities {' '.join(caps)}" if caps else ""),
        'aws cloudformation wait change-set-create-complete --region "$REGION" \\',
        '  --stack-name "$STACK_NAME" --change-set-name "$CHANGE_SET"',
        "",
        "# 2. Review what it will do (Replacement True means the resource is recreated).",
        'aws cloudformation describe-change-set --region "$REGION" \\',
        '  --stack-name "$STACK_NAME" --change-set-name "$CHANGE_SET" \\',
        "  --query 'Changes[].ResourceChange.{Action:Action,LogicalId:LogicalResourceId,"
        "Type:ResourceType,Replacement:Replacement}' \\",
        "  --output table",
        "",
        "# 3. Execute it and wait until the stack is done.",
        'aws cloudformation execute-change-set --region "$REGION" \\',
        '  --stack-name "$STACK_NAME" --change-set-name "$CHANGE_SET"',
        f'aws cloudformation wait {waiter} --region "$REGION" --stack-name "$STACK_NAME"',
        'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
        "  --query 'Stacks[0].Outputs' --output table",
    ]
    return "\n".join(lines)


def _deploy_script(name: str, t: Mapping[str, Any], size: int, env: Environment) -> str:
    caps = capability_names(t)
    tags = " ".join(shlex.quote(f"{key}={value}") for key, value in env.tags.items())
    lines = [f"REGION={DEFAULT_REGION}"]
    if needs_upload(size):
        lines.append(
            f"BUCKET={BUCKET_PLACEHOLDER}  # deploy uploads the template here (over {INLINE_LIMIT:,} bytes)"
        )
    lines += [
        f'aws cloudformation deploy --region "$REGION" --stack-name {name}-{env.name} \\',
        f"  --template-file output/{name}.json \\",
        *(['  --s3-bucket "$BUCKET" \\'] if needs_upload(size) else []),
        f"  --parameter-overrides file://output/{name}.{env.name}.parameters.json \\",
        *([f"  --tags {tags} \\"] if tags else []),
        *([f"  --capabilities {' '.join(caps)} \\"] if caps else []),
        "  --no-execute-changeset  # stops before executing; drop it to deploy at once",
    ]
    return "\n".join(lines)


def console_section(name: str, t: Mapping[str, Any], env: Environment) -> list[str]:
    groups, _ = describe.interface(t)
    caps = describe.capabilities(t)
    group_text = (
        " in the groups " + ", ".join(f'"{label}"' for label, _ in groups) + ", with the labels listed under "
        "Parameters"
        if groups
        else ""
    )
    tick = (
        " and tick the acknowledgement for "
        + ", ".join(code(cap) for cap, _ in caps)
        + " (see Capabilities) before you submit"
        if caps
        else ""
    )
    tags = ", ".join(f"{code(k)} = {code(v)}" for k, v in env.tags.items())
    return [
        "## Deploying with the CloudFormation console",
        "",
        "The console does not read parameter files: type in the values of yours. A field you leave as shown "
        "keeps the template default.",
        "",
        "A new stack:",
        "",
        "1. Open the CloudFormation console in the region you deploy to; Create stack > With new resources "
        "(standard).",
        f"2. Choose an existing template > Upload a template file > `output/{name}.json`. The console stores the "
        "file in an S3 bucket it creates in your account (`cf-templates-...`), so the "
        f"{INLINE_LIMIT:,}-byte limit for inline templates does not apply.",
        f"3. Stack name (e.g. `{name}-{env.name}`), then the parameters{group_text}.",
        "4. Configure stack options: add your parameter file's `Tags` as stack tags"
        + (f" (the {env.name} file has {tags})" if tags else "")
        + ". Leave the rest at the defaults.",
        f"5. Review{tick}. A value that breaks a parameter's constraint or a rule (see Parameters) is "
        "rejected with its message before anything is created.",
        "",
        "An existing stack: select it > Change sets tab > Create change set > Replace current template > "
        "Upload a template file. Keep or change the parameter values (they show the stack's current ones), "
        "review the change set's Changes tab (Replacement True means the resource is recreated), then "
        "Execute change set. Before the first stack in an account, read Account prerequisites below.",
        "",
    ]


def deployment_section(name: str, t: Mapping[str, Any], size: int, env: Environment) -> list[str]:
    return [
        "## Deploying with the AWS CLI",
        "",
        "### Set up",
        "",
        "Run these from the directory that contains `output/`, with AWS CLI v2 and `jq`. Set up once per "
        f"shell, with `STACK_NAME` and `PARAMS` for your environment (e.g. `{name}-prod` and "
        f"`output/{name}.prod.parameters.json`, or your own copy of a parameter file)"
        + (", and `BUCKET` to a bucket of yours in `REGION`" if needs_upload(size) else "")
        + ":",
        "",
        *fenced("sh", setup_script(name, size, env.name)),
        "",
        "### A new stack",
        "",
        *fenced("sh", _change_set_script(name, t, size, "CREATE")),
        "",
        "### An existing stack",
        "",
        "The same steps with `--change-set-type UPDATE` and the update waiter. Each parameter takes the "
        "file's value; one left out of a hand-made file takes the template default, not the stack's "
        "previous value. The stack's tags become the file's `Tags`: a tag left out is removed.",
        "",
        *fenced("sh", _change_set_script(name, t, size, "UPDATE")),
        "",
        "If `wait change-set-create-complete` fails, the change set ended `FAILED`; see why with:",
        "",
        *fenced(
            "sh",
            'aws cloudformation describe-change-set --region "$REGION" --stack-name "$STACK_NAME" \\\n'
            "  --change-set-name \"$CHANGE_SET\" --query '[Status,StatusReason]' --output text",
        ),
        "",
        '"The submitted information didn\'t contain changes" means there is nothing to do; remove the '
        'change set with `aws cloudformation delete-change-set --region "$REGION" --stack-name '
        '"$STACK_NAME" --change-set-name "$CHANGE_SET"`.',
        "If a new stack fails it rolls back to `ROLLBACK_COMPLETE` and must be deleted before you try again; "
        "find the cause first:",
        "",
        *fenced(
            "sh",
            'aws cloudformation describe-stack-events --region "$REGION" --stack-name "$STACK_NAME" \\\n'
            '  --query "StackEvents[?contains(ResourceStatus, '
            "'FAILED')].[LogicalResourceId,ResourceStatusReason]\""
            " \\\n  --output table",
        ),
        "",
        "### One command instead (`aws cloudformation deploy`)",
        "",
        "AWS CLI v2's `deploy` reads the parameter file as it is (the template-configuration format; AWS CLI "
        "v1 does not) and creates or updates the stack through a change set"
        + (", uploading the template to `--s3-bucket` first" if needs_upload(size) else "")
        + ". It ignores the file's `Tags`: pass them with `--tags`. On an update, a parameter the file "
        "leaves out keeps the stack's previous value.",
        "",
        *fenced("sh", _deploy_script(name, t, size, env)),
        "",
    ]


def _ssm_parameters(t: Mapping[str, Any]) -> list[str]:
    return [
        n for n, s in t.get("Parameters", {}).items() if str(s.get("Type", "")).startswith(SSM_PARAMETER_TYPE)
    ]


def validation_section(name: str, t: Mapping[str, Any], size: int) -> list[str]:
    ssm = _ssm_parameters(t)
    lint_file = "parameters.lint.json" if ssm else "parameters.cli.json"
    with_values = (
        [
            f"# cfn-lint does not resolve SSM parameter types ({', '.join(ssm)}): it would check the",
            "# parameter's path as if it were the value. Leave them out; the template's default is used.",
            f"jq --slurpfile t output/{name}.json \\",
            f"  '[.[] | select($t[0].Parameters[.ParameterKey].Type | startswith(\"{SSM_PARAMETER_TYPE}\") | not)]' \\",
            f"  parameters.cli.json > {lint_file}",
        ]
        if ssm
        else []
    )
    validate = f'aws cloudformation validate-template --region "$REGION" {_template_source(size, name)}'
    return [
        "## Validating before you deploy",
        "",
        "These use the variables and files from Set up above (`REGION`, `PARAMS`, `parameters.cli.json`"
        + (", `TEMPLATE_URL`" if needs_upload(size) else "")
        + ").",
        "",
        "- Lint the template offline (no AWS account needed; `pip install cfn-lint`):",
        "",
        *fenced("sh", f"cfn-lint output/{name}.json"),
        "",
        "- Lint it with your values. cfn-lint puts them into the resources and checks what they make (for "
        "example the bucket names derived from the environment suffix); it does not check the values "
        "against the parameters' own constraints or the rules:",
        "",
        *fenced(
            "sh", "\n".join([*with_values, f"cfn-lint output/{name}.json --parameter-files {lint_file}"])
        ),
        "",
        "- Check that every name in your parameter file is a parameter of the template (prints `[]` "
        "when so):",
        "",
        *fenced(
            "sh",
            f'jq -n --slurpfile t output/{name}.json --slurpfile p "$PARAMS" \\\n'
            "  '($p[0].Parameters | keys) - ($t[0].Parameters | keys)'",
        ),
        "",
        "- Have CloudFormation parse the template (needs credentials; creates nothing; prints its parameters "
        "and the capabilities it needs)"
        + (
            f": over {INLINE_LIMIT:,} bytes it must be read from S3, like the change set"
            if needs_upload(size)
            else ""
        )
        + ":",
        "",
        *fenced("sh", validate),
        "",
        "Parameter values are checked against the constraints and rules listed under Parameters when the "
        "change set is created, before anything changes: a rejected value fails `create-change-set` with "
        "the parameter's constraint description or the rule's message.",
        "",
    ]


def environment_notes(envs: Sequence[Any], template: Mapping[str, Any]) -> list[str]:
    """Values each sample environment leaves for the team to fill in, for parameters this template has."""
    lines = []
    for env in envs:
        todo = {k: v for k, v in env.to_fill_in.items() if k in template.get("Parameters", {})}
        for parameter, what in todo.items():
            lines.append(f"- `{env.name}`: set {code(parameter)} to {what}.")
    return lines

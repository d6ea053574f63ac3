"""The hand-off page's operational sections: console steps, AWS CLI commands, validation.

The commands are plain AWS CLI (v1 and v2) and jq, for a team that deploys without this project's Python. Every
shell block is a complete script: it parses as bash, and its placeholders are values to replace, never
`<...>` (which the shell would read as a redirection).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from cfnspec.limits import INLINE_TEMPLATE_LIMIT as INLINE_LIMIT
from generator import describe
from generator.environments import Environment
from generator.markdown import code, fenced
from generator.shell import convert_parameters, guarded, not_rehearsable, sha256_lines

SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value"


FAILED_EVENTS = [
    'aws cloudformation describe-stack-events --region "$REGION" --stack-name "$STACK_NAME" \\',
    "  --query \"StackEvents[?contains(ResourceStatus, 'FAILED')].[Timestamp,LogicalResourceId,ResourceStatusReason]\" \\",
    "  --output text",
]


def needs_upload(size: int) -> bool:
    return size > INLINE_LIMIT


def _template_source(size: int, name: str) -> str:
    return (
        '--template-url "$TEMPLATE_URL"'
        if needs_upload(size)
        else f"--template-body file://output/{name}.json"
    )


def template_key(name: str) -> str:
    """The template's S3 key: named by its sha256, so an upload never overwrites another version."""
    return f"templates/{name}-$SHA.json"


def upload_lines(name: str, size: int, path: str | None = None) -> list[str]:
    """Make sure the template bucket exists, and upload a template too large for --template-body to it under
    a content-addressed key (every version stays in the bucket); sets TEMPLATE_URL."""
    if not needs_upload(size):
        return []
    path = path or f"output/{name}.json"
    return [
        f"# The template is {size:,} bytes, over the {INLINE_LIMIT:,}-byte limit for --template-body: upload it",
        "# under its sha256, so that every version stays in the bucket. The first upload makes the bucket.",
        *sha256_lines(path),
        'aws s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1 || aws s3 mb "s3://$BUCKET" --region "$REGION"',
        f'aws s3 cp {path} "s3://$BUCKET/{template_key(name)}" --region "$REGION" --only-show-errors',
        f'TEMPLATE_URL="https://$BUCKET.$S3_HOST/{template_key(name)}"',
    ]


def capability_names(t: Mapping[str, Any]) -> list[str]:
    return [cap for cap, _ in describe.capabilities(t)]


def create_lines(t: Mapping[str, Any], kind: str, source: str, parameters: str, tags: str) -> list[str]:
    caps = capability_names(t)
    return [
        "# Create the change set: CloudFormation checks every parameter value and rule now, and changes nothing.",
        'aws cloudformation create-change-set --region "$REGION" --stack-name "$STACK_NAME" \\',
        f'  --change-set-name "$CHANGE_SET" --change-set-type {kind} \\',
        f"  {source} \\",
        f"  --parameters file://{parameters} --tags file://{tags}"
        + (f" \\\n  --capabilities {' '.join(caps)}" if caps else ""),
        'aws cloudformation wait change-set-create-complete --region "$REGION" \\',
        '  --stack-name "$STACK_NAME" --change-set-name "$CHANGE_SET"',
    ]


SHOW_LINES = [
    "# What it will do: Replacement True means the resource is deleted and made again.",
    'aws cloudformation describe-change-set --region "$REGION" \\',
    '  --stack-name "$STACK_NAME" --change-set-name "$CHANGE_SET" \\',
    "  --query 'Changes[].ResourceChange.{Action:Action,LogicalId:LogicalResourceId,"
    "Type:ResourceType,Replacement:Replacement}' \\",
    "  --output table",
]


def review_lines(kind: str) -> list[str]:
    """Record the change set for the execute block, and print how to abandon it instead."""
    abandon = (
        'aws cloudformation delete-change-set --region \\"$REGION\\" --stack-name \\"$STACK_NAME\\" '
        '--change-set-name \\"$CHANGE_SET\\"'
    )
    if kind in ("CREATE", "IMPORT"):  # the stack is new: abandoning it leaves an empty stack to delete
        abandon += ' && aws cloudformation delete-stack --region \\"$REGION\\" --stack-name \\"$STACK_NAME\\"'
    return [
        *SHOW_LINES,
        'echo "$CHANGE_SET" > change-set.txt',
        'echo "Nothing has changed yet. To apply it: the execute block. To abandon it:"',
        f'echo "  {abandon}"',
    ]


def review_block(name: str, t: Mapping[str, Any], size: int, kind: str) -> str:
    """Convert the parameter file, upload, create the change set and show it: nothing is executed."""
    lines = [
        *convert_parameters(),
        *upload_lines(name, size),
        f"CHANGE_SET={kind.lower()}-$(date -u +%Y%m%d-%H%M%S)",
        *create_lines(t, kind, _template_source(size, name), "parameters.cli.json", "tags.cli.json"),
        *review_lines(kind),
    ]
    return guarded(lines)


def execute_block(kind: str) -> str:
    """Execute the change set the review block recorded, and wait for the stack (the waiter polls every 30
    seconds and gives up after an hour)."""
    waiter = {"CREATE": "stack-create-complete", "IMPORT": "stack-import-complete"}.get(
        kind, "stack-update-complete"
    )
    return guarded(
        [
            '[ -s change-set.txt ] || { echo "change-set.txt not found: create and review a change set first" >&2; '
            "exit 1; }",
            "CHANGE_SET=$(cat change-set.txt)",
            'aws cloudformation execute-change-set --region "$REGION" \\',
            '  --stack-name "$STACK_NAME" --change-set-name "$CHANGE_SET"',
            "rm change-set.txt  # executed: it cannot be executed twice",
            "# The waiter polls every 30 seconds and gives up after an hour.",
            f'aws cloudformation wait {waiter} --region "$REGION" --stack-name "$STACK_NAME"',
            'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query 'Stacks[0].[StackStatus,Outputs]' --output text",
        ]
    )


def change_set_script(name: str, t: Mapping[str, Any], size: int, kind: str) -> str:
    """A whole change-set run in one script, for a recipe that is itself one reviewed step (recreate)."""
    waiter = "stack-create-complete" if kind == "CREATE" else "stack-update-complete"
    lines = [
        *convert_parameters(),
        *upload_lines(name, size),
        f"CHANGE_SET={kind.lower()}-$(date -u +%Y%m%d-%H%M%S)",
        *create_lines(t, kind, _template_source(size, name), "parameters.cli.json", "tags.cli.json"),
        *SHOW_LINES,
        'aws cloudformation execute-change-set --region "$REGION" \\',
        '  --stack-name "$STACK_NAME" --change-set-name "$CHANGE_SET"',
        f'aws cloudformation wait {waiter} --region "$REGION" --stack-name "$STACK_NAME"',
    ]
    return "\n".join(lines)


def _deploy_script(name: str, t: Mapping[str, Any], size: int, env: Environment) -> str:
    caps = capability_names(t)
    tags = " ".join(shlex.quote(f"{key}={value}") for key, value in env.tags.items())
    lines = [
        'aws cloudformation deploy --region "$REGION" --stack-name "$STACK_NAME" \\',
        f"  --template-file output/{name}.json \\",
        *(['  --s3-bucket "$BUCKET" \\'] if needs_upload(size) else []),
        '  --parameter-overrides file://"$PARAMS" \\',
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
        "Execute change set (Updating an existing stack below says which parameters replace resources).",
        "",
    ]


def deployment_section(name: str, t: Mapping[str, Any], size: int, env: Environment) -> list[str]:
    kept = describe.kept_after_failed_create(t)
    deleted = [i for i, _ in describe.stateful(t) if i not in kept]
    return [
        "## Creating the stack",
        "",
        "Every command works with AWS CLI v1 and v2 except `aws cloudformation deploy` with a parameter "
        "file (v2 only, said where it is used); `jq` converts the parameter file. Run them from the directory "
        "that contains `output/`, in a shell where the variables block (*Before the first command*) has run.",
        "",
        "### A new stack",
        "",
        "Two blocks, so that you see what CloudFormation will do before anything is made. The first converts "
        "your parameter file to the list format `create-change-set` takes"
        + (", uploads the template (the first upload makes the bucket)" if needs_upload(size) else "")
        + ", creates the change set and shows it; it changes nothing and prints the line that abandons it.",
        "",
        *fenced("sh", review_block(name, t, size, "CREATE")),
        "",
        "Then execute it and wait for the stack:",
        "",
        *fenced("sh", execute_block("CREATE")),
        "",
        "If the first create fails, the stack ends in `ROLLBACK_COMPLETE` and CloudFormation deletes what it "
        "made"
        + (
            ", the RetainExceptOnCreate resources ("
            + ", ".join(code(i) for i in deleted)
            + ") and their data "
            "included (to read the logs of a failed create, add `--disable-rollback` to `execute-change-set`, "
            "then delete the stack yourself)"
            if deleted
            else ""
        )
        + ", except the resources with a Retain policy ("
        + ", ".join(code(i) for i in kept)
        + "): they stay, and those with fixed names block the next attempt. Find the cause, then run the "
        "leftover check of Account checks again and remove what it prints (Tearing down, step 3) before you "
        "delete the stack and retry:",
        "",
        *fenced("sh", guarded(FAILED_EVENTS)),
        "",
        "### One command instead (`aws cloudformation deploy`, AWS CLI v2 only)",
        "",
        "AWS CLI v2's `deploy` reads the parameter file as it is (the template-configuration format; v1 "
        "needs `Key=Value` pairs) and creates or updates the stack through a change set"
        + (", uploading the template to `--s3-bucket` first" if needs_upload(size) else "")
        + ". It ignores the file's `Tags`: pass them with `--tags`. On an update, a parameter the file "
        "leaves out keeps the stack's previous value.",
        "",
        *not_rehearsable("AWS CLI v2 only (v1 reads no template-configuration file)"),
        *fenced("sh", guarded(_deploy_script(name, t, size, env).split("\n"))),
        "",
        "### In CodePipeline",
        "",
        "A CloudFormation deploy action reads the parameter file as it is: put the template and your "
        "parameter file in the source artifact and set the action's `TemplatePath` to "
        f"`SourceArtifact::{name}.json` and `TemplateConfiguration` to `SourceArtifact::{name}.dev.parameters"
        ".json` (your file's name), with `ActionMode` `CHANGE_SET_REPLACE` then `CHANGE_SET_EXECUTE` for a "
        "reviewed change"
        + (f" and `Capabilities` `{','.join(capability_names(t))}`" if capability_names(t) else "")
        + ".",
        "",
    ]


def _ssm_parameters(t: Mapping[str, Any]) -> list[str]:
    return [
        n for n, s in t.get("Parameters", {}).items() if str(s.get("Type", "")).startswith(SSM_PARAMETER_TYPE)
    ]


def validation_section(name: str, t: Mapping[str, Any], size: int) -> list[str]:
    ssm = _ssm_parameters(t)
    lint_file = "parameters.lint.json" if ssm else "parameters.cli.json"
    with_values = convert_parameters() + (
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
    validate = guarded(
        [
            *upload_lines(name, size),
            f'aws cloudformation validate-template --region "$REGION" {_template_source(size, name)} \\',
            "  --query '{Parameters: Parameters[].ParameterKey, Capabilities: Capabilities}' --output json",
        ]
    )
    return [
        "Optional, before the first create: each block is whole and uses the variables of the first block.",
        "",
        "- Lint the template offline (no AWS account needed; `pip install cfn-lint`):",
        "",
        *fenced("sh", f"cfn-lint output/{name}.json"),
        "",
        "- Lint it with your values. cfn-lint puts them into the resources and checks what they make (for "
        "example the bucket names derived from the environment suffix); it does not check the values "
        "against the parameters' own constraints or the rules:",
        "",
        *fenced("sh", guarded([*with_values, f"cfn-lint output/{name}.json --parameter-files {lint_file}"])),
        "",
        "- Check that every name in your parameter file is a parameter of the template (prints `[]` "
        "when so):",
        "",
        *fenced(
            "sh",
            guarded(
                [
                    f'jq -n --slurpfile t output/{name}.json --slurpfile p "$PARAMS" \\',
                    "  '($p[0].Parameters | keys) - ($t[0].Parameters | keys)'",
                ]
            ),
        ),
        "",
        "- Have CloudFormation parse the template (needs credentials; creates nothing; prints the names of "
        "its parameters and the capabilities it needs)"
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

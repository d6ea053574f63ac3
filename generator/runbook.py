"""The hand-off page's operational sections: AWS CLI commands, validation, account prerequisites.

The commands are plain AWS CLI (v2) and jq, for a team that deploys without this project's Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from generator import describe
from generator.markdown import code, fenced

DEFAULT_REGION = "us-east-1"
INLINE_LIMIT = 51_200


def _template_source(name: str, size: int) -> tuple[str, list[str]]:
    """The --template-body/--template-url argument, and the upload step a large template needs first."""
    if size <= INLINE_LIMIT:
        return f"--template-body file://output/{name}.json", []
    upload = [
        f"# The template is {size:,} bytes, over the {INLINE_LIMIT:,}-byte limit for --template-body:",
        "# upload it to a bucket in the same region first.",
        "BUCKET=<your-artifact-bucket>",
        f'aws s3 cp output/{name}.json "s3://$BUCKET/{name}.json" --region "$REGION"',
    ]
    return f'--template-url "https://$BUCKET.s3.$REGION.amazonaws.com/{name}.json"', upload


def _capability_flag(t: Mapping[str, Any]) -> str:
    caps = [cap for cap, _ in describe.capabilities(t)]
    return f" \\\n  --capabilities {' '.join(caps)}" if caps else ""


def _change_set_script(name: str, t: Mapping[str, Any], size: int, kind: str) -> str:
    source, upload = _template_source(name, size)
    waiter = "stack-create-complete" if kind == "CREATE" else "stack-update-complete"
    lines = [
        f"REGION={DEFAULT_REGION}",
        f"STACK_NAME={name}-dev",
        f"PARAMS=output/{name}.dev.parameters.json",
        f"CHANGE_SET={kind.lower()}-$(date -u +%Y%m%d-%H%M%S)",
        "",
        "# --parameters and --tags take lists; the parameter files are the template-configuration format.",
        "jq '[.Parameters | to_entries[] | {ParameterKey: .key, ParameterValue: .value}]' \"$PARAMS\""
        " > parameters.cli.json",
        "jq '[.Tags // {} | to_entries[] | {Key: .key, Value: .value}]' \"$PARAMS\" > tags.cli.json",
        *(["", *upload] if upload else []),
        "",
        "# 1. Create the change set: CloudFormation checks every parameter value now and changes "
        "nothing yet.",
        'aws cloudformation create-change-set --region "$REGION" --stack-name "$STACK_NAME" \\',
        f'  --change-set-name "$CHANGE_SET" --change-set-type {kind} \\',
        f"  {source} \\",
        "  --parameters file://parameters.cli.json --tags file://tags.cli.json" + _capability_flag(t),
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


def console_section(t: Mapping[str, Any]) -> list[str]:
    caps = [cap for cap, _ in describe.capabilities(t)]
    tick = " Tick the capability acknowledgement (see Capabilities)." if caps else ""
    return [
        "## Deploying with the CloudFormation console",
        "",
        "- New stack: Create stack > With new resources > Upload a template file (the console stores it in an "
        "S3 bucket of your account, so the size limit for inline templates does not apply). Enter the values "
        "from your parameter file; the console shows the parameters in the groups listed above." + tick,
        "- Existing stack: select it > Update > Replace existing template, upload the new file, keep or change "
        "the values, and review the change set the console shows before you submit it.",
        "",
    ]


def deployment_section(name: str, t: Mapping[str, Any], size: int) -> list[str]:
    caps = " ".join(cap for cap, _ in describe.capabilities(t))
    lines = [
        "## Deploying with the AWS CLI",
        "",
        "Run these from the directory that contains `output/`, with AWS CLI v2 and `jq`. "
        f"Set `STACK_NAME` and `PARAMS` for your environment (e.g. `{name}-prod` and "
        f"`output/{name}.prod.parameters.json`, or your own copy of a parameter file).",
        "",
        "### A new stack",
        "",
        *fenced("sh", _change_set_script(name, t, size, "CREATE")),
        "",
        "### An existing stack",
        "",
        "The same steps with `--change-set-type UPDATE` and the update waiter. Each parameter takes the "
        "file's value; one left out of a hand-made file takes the template default, not the stack's "
        "previous value.",
        "",
        *fenced("sh", _change_set_script(name, t, size, "UPDATE")),
        "",
        "A change set with no changes ends `FAILED` with \"The submitted information didn't contain "
        'changes": '
        "nothing to do; remove it with `aws cloudformation delete-change-set`.",
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
        "AWS CLI v2's `deploy` reads the parameter file as it is (the template-configuration format) "
        "and creates "
        "or updates the stack through a change set. It ignores the file's `Tags`: pass them with `--tags`.",
        "",
        *fenced(
            "sh",
            f"aws cloudformation deploy --region {DEFAULT_REGION} --stack-name {name}-dev \\\n"
            f"  --template-file output/{name}.json \\\n"
            f"  --parameter-overrides file://output/{name}.dev.parameters.json \\\n"
            "  --tags Environment=dev"
            + (f" \\\n  --capabilities {caps}" if caps else "")
            + (" \\\n  --s3-bucket <your-artifact-bucket>" if size > INLINE_LIMIT else "")
            + " \\\n  --no-execute-changeset  # stops before executing; drop it to deploy at once",
        ),
        "",
    ]
    return lines


def validation_section(name: str) -> list[str]:
    return [
        "## Validating before you deploy",
        "",
        "- Lint the template offline (no AWS account needed; `pip install cfn-lint`):",
        "",
        *fenced("sh", f"cfn-lint output/{name}.json"),
        "",
        "- Lint it with your values (cfn-lint reads the list format made by the `jq` line above):",
        "",
        *fenced("sh", f"cfn-lint output/{name}.json --parameter-files parameters.cli.json"),
        "",
        "- Check that every name in your parameter file is a parameter of the template (prints `[]` "
        "when so):",
        "",
        *fenced(
            "sh",
            f"jq -n --slurpfile t output/{name}.json --slurpfile p output/{name}.dev.parameters.json \\\n"
            "  '($p[0].Parameters | keys) - ($t[0].Parameters | keys)'",
        ),
        "",
        "- Have CloudFormation parse the template (needs credentials; creates nothing):",
        "",
        *fenced(
            "sh",
            f"aws cloudformation validate-template --region {DEFAULT_REGION} "
            f"--template-body file://output/{name}.json",
        ),
        "",
        "Parameter values are checked against the constraints listed under Parameters when the change set is "
        "created, before anything changes: a rejected value fails `create-change-set` with the parameter's "
        "constraint description.",
        "",
    ]


def _key_policy_statements(t: Mapping[str, Any]) -> list[dict[str, Any]]:
    account_root = "arn:aws:iam::<ACCOUNT_ID>:root"
    slr = (
        "arn:aws:iam::<ACCOUNT_ID>:role/aws-service-role/"
        "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "KeyAdministrationAndIamPolicies",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if describe.has_type(t, "AWS::AutoScaling::AutoScalingGroup"):
        statements += [
            {
                "Sid": "AutoScalingUseOfTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": slr},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
            },
            {
                "Sid": "AutoScalingGrantsForEbsVolumes",
                "Effect": "Allow",
                "Principal": {"AWS": slr},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
            },
        ]
    if describe.has_type(t, "AWS::Logs::LogGroup"):
        statements.append(
            {
                "Sid": "CloudWatchLogsEncryption",
                "Effect": "Allow",
                "Principal": {"Service": "logs.<REGION>.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:<REGION>:<ACCOUNT_ID>:log-group:*"
                    }
                },
            }
        )
    if describe.has_type(t, "AWS::SNS::Topic") and describe.has_type(t, "AWS::CloudWatch::Alarm"):
        statements.append(
            {
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            }
        )
    if describe.has_type(t, "AWS::CloudFront::Distribution"):
        statements.append(
            {
                "Sid": "CloudFrontReadsEncryptedObjects",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {
                    "StringLike": {"AWS:SourceArn": "arn:aws:cloudfront::<ACCOUNT_ID>:distribution/*"}
                },
            }
        )
    return statements


def _key_parameters(t: Mapping[str, Any]) -> list[str]:
    return [name for name in t.get("Parameters", {}) if "kms" in name.lower()]


def prerequisites_section(t: Mapping[str, Any]) -> list[str]:
    lines = ["## Account prerequisites", ""]
    found = False
    key_params = _key_parameters(t)
    if key_params:
        found = True
        policy = json.dumps({"Version": "2012-10-17", "Statement": _key_policy_statements(t)}, indent=2)
        lines += [
            f"### Bringing your own KMS key ({', '.join(code(p) for p in key_params)})",
            "",
            "Left empty, the stack creates its own key with the right policy. A key you bring must be a "
            "symmetric customer managed key in the stack's region whose key policy lets every "
            "service the stack "
            "encrypts with use it. Without the Auto Scaling statements, instances never launch: "
            "their encrypted "
            "volumes cannot be created and the group reports `Client.InternalError`. Replace "
            "`<ACCOUNT_ID>` and "
            "`<REGION>`; keep the first statement (or your own administration statements) so that "
            "the account's "
            "IAM policies, such as the instance role's, can grant use of the key. A key policy may only name "
            "roles that exist: create the service-linked role first (below).",
            "",
            *fenced("json", policy),
            "",
            "Apply it with `aws kms put-key-policy --key-id <key-id> --policy-name default "
            "--policy file://key-policy.json` after merging it with the statements your key already has.",
            "",
        ]
    for logical_id, resource in describe.service_linked_roles(t):
        found = True
        service = resource.get("Properties", {}).get("AWSServiceName", "the service")
        role = (
            "AWSServiceRoleForAutoScaling"
            if service == "autoscaling.amazonaws.com"
            else f"the role for {service}"
        )
        condition = resource.get("Condition")
        parameter = describe.condition_parameter(t, condition) if condition else None
        switch = (
            f"Set {code(parameter)} to `true` only when the role does not exist yet; the stack then "
            "creates it "
            f"({code(logical_id)})."
            if parameter
            else f"The stack creates it ({code(logical_id)})."
        )
        lines += [
            f"### The {role} service-linked role",
            "",
            f"The service {service} acts through {role}. Every account that has used the service has it already, "
            "and creating "
            f"it twice fails. {switch} Check first:",
            "",
            *fenced(
                "sh",
                f"aws iam get-role --role-name {role}"
                if role.startswith("AWSService")
                else f"aws iam list-roles --path-prefix /aws-service-role/{service}/",
            ),
            "",
            "Or create it once for the account yourself:",
            "",
            *fenced("sh", f"aws iam create-service-linked-role --aws-service-name {service}"),
            "",
        ]
    for name, spec in t.get("Parameters", {}).items():
        if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and "Default" in spec:
            found = True
            lines += [
                f"### The SSM parameter behind {code(name)}",
                "",
                "It must exist in the region you deploy to (public AWS parameters do in every "
                "commercial region):",
                "",
                *fenced("sh", f"aws ssm get-parameters --region {DEFAULT_REGION} --names {spec['Default']}"),
                "",
            ]
    if not found:
        lines += ["None beyond permission to create the resources listed above.", ""]
    return lines


def environment_notes(envs: Sequence[Any], template: Mapping[str, Any]) -> list[str]:
    """Values each sample environment leaves for the team to fill in, for parameters this template has."""
    lines = []
    for env in envs:
        todo = {k: v for k, v in env.to_fill_in.items() if k in template.get("Parameters", {})}
        for parameter, what in todo.items():
            lines.append(f"- `{env.name}`: set {code(parameter)} to {what}.")
    return lines

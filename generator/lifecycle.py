"""The page's sections after the first deploy: verify it, update it, roll back and recover.

Which parameters replace a resource comes from the template (what each parameter reaches) and the registry
schemas bundled with cfn-lint (each type's createOnlyProperties), not from a hand-kept list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator import describe, permissions, runbook
from generator.markdown import code, fenced, table

Template = Mapping[str, Any]


def _parameters_in(value: Any, params: Mapping[str, Any]) -> Iterator[str]:
    yield from (n for n in describe.references(value) if n in params)


def parameter_effects(t: Template) -> dict[str, list[str]]:
    """For each parameter: what changing it does to each resource it reaches."""
    params = t.get("Parameters", {})
    effects: dict[str, list[str]] = {p: [] for p in params}
    for condition, body in t.get("Conditions", {}).items():
        for p in _parameters_in(body, params):
            users = [i for i, r in describe.resources(t).items() if r.get("Condition") == condition]
            if users:
                effects[p].append(f"adds or removes {', '.join(code(i) for i in users)}")
    for logical_id, r in describe.resources(t).items():
        rtype = str(r.get("Type"))
        create_only = set(permissions.schema(rtype).get("createOnlyProperties", [])) if rtype else set()
        name_prop = describe.NAME_PROPERTIES.get(rtype)
        for prop, value in r.get("Properties", {}).items():
            for p in dict.fromkeys(_parameters_in(value, params)):
                path = f"/properties/{prop}"
                if path in create_only:
                    named = bool(custom_names(r, create_only)) or (
                        name_prop is not None and name_prop in r.get("Properties", {})
                    )
                    what = "fails: replacing it needs a new custom name" if named else "replaces it"
                    effects[p].append(f"{code(logical_id)}.{prop}: {what}")
                elif any(c.startswith(path + "/") for c in create_only):
                    effects[p].append(f"{code(logical_id)}.{prop}: may replace it")
                elif rtype == "AWS::EC2::LaunchTemplate":
                    effects[p].append(
                        f"{code(logical_id)}.{prop}: a new version, which the Auto Scaling group rolls out "
                        "instance by instance (its rolling update)"
                    )
    return effects


def custom_names(resource: Mapping[str, Any], create_only: set[str]) -> list[str]:
    """Create-only name properties the template sets: CloudFormation cannot replace such a resource."""
    return [
        p for p in resource.get("Properties", {}) if p.endswith("Name") and f"/properties/{p}" in create_only
    ]


def _verdict(effects: list[str]) -> str:
    if any("fails" in e for e in effects):
        return "fails"
    if any("replace" in e for e in effects):
        return "replaces"
    if any("adds or removes" in e for e in effects):
        return "adds or removes"
    if effects:
        return "in place, rolling update"
    return "in place"


def example_edit(t: Template, effects: Mapping[str, list[str]]) -> tuple[str, str] | None:
    """A number parameter that updates in place and is bound to no other parameter (by a rule or its
    constraint), with its default: the page's example edit raises it by one."""
    params = t.get("Parameters", {})
    in_rules = set(describe.references(t.get("Rules", {})))
    for p, spec in params.items():
        if effects.get(p) or spec.get("Type") != "Number" or "Default" not in spec or p in in_rules:
            continue
        constraint = str(spec.get("ConstraintDescription", ""))
        if any(other in constraint for other in params if other != p):
            continue
        if int(spec["Default"]) + 1 <= int(spec.get("MaxValue", int(spec["Default"]) + 1)):
            return p, str(spec["Default"])
    return None


def verify_section(t: Template) -> list[str]:
    outputs = t.get("Outputs", {})
    lines = [
        "## Verifying the deployment",
        "",
        "Read the outputs and check the alarms (each should be `OK`; `INSUFFICIENT_DATA` for the first "
        "minutes is normal):",
        "",
    ]
    script = [
        'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
        "  --query 'Stacks[0].[StackStatus,Outputs]' --output text",
        'aws cloudwatch describe-alarms --region "$REGION" --alarm-name-prefix "$STACK_NAME" \\',
        "  --query 'MetricAlarms[].[AlarmName,StateValue]' --output text",
    ]
    lines += [*fenced("sh", "\n".join(script)), ""]
    smoke = []
    if "LoadBalancerUrl" in outputs:
        smoke += [
            'URL=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query \"Stacks[0].Outputs[?OutputKey=='LoadBalancerUrl'].OutputValue\" --output text)",
            "# The web servers answer through the load balancer: expect 200.",
            'curl -s -o /dev/null -w "%{http_code}\\n" "$URL"',
        ]
    if "CloudFrontDomainName" in outputs and "StaticContentBucketName" in outputs:
        smoke += [
            'STATIC_BUCKET=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query \"Stacks[0].Outputs[?OutputKey=='StaticContentBucketName'].OutputValue\" --output text)",
            'CDN=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query \"Stacks[0].Outputs[?OutputKey=='CloudFrontDomainName'].OutputValue\" --output text)",
            'echo "smoke test $(date -u)" > smoke.txt',
            'aws s3 cp smoke.txt "s3://$STATIC_BUCKET/smoke.txt" --region "$REGION"',
            "# CloudFront serves it from the private bucket: expect the line just written.",
            'curl -s "https://$CDN/smoke.txt"',
        ]
    if smoke:
        lines += [
            "Smoke test: the load balancer answers and CloudFront serves an object from the static bucket "
            "(the outputs named in the commands):",
            "",
            "<!-- not-rehearsable: needs the real load balancer and CloudFront distribution on the internet -->",
            *fenced("sh", "\n".join(smoke)),
            "",
        ]
    return lines


def update_section(name: str, t: Template, size: int) -> list[str]:
    effects = parameter_effects(t)
    rows = [[code(p), _verdict(e), "; ".join(e) if e else "updates in place"] for p, e in effects.items()]
    return [
        "## Updating an existing stack",
        "",
        "What changing each parameter does, from what the parameter reaches in the template and each "
        "resource type's create-only properties (a change to one replaces the resource). A replaced "
        "resource with a fixed name fails the update: CloudFormation cannot create the new one while the old "
        "one holds the name. A replaced retained resource stays behind, outside the stack.",
        "",
        *table(["Parameter", "Change", "Why"], rows),
        "",
        "Edit your copy of the parameter file (`$PARAMS`), then run this block whole: it converts the file "
        "again (a converted file from before would still hold the old values), uploads the template and "
        "creates the change set. Review it before you execute it: `Replacement` `True` means the resource is "
        "recreated, `Conditional` that it depends on a value known only during the update.",
        "",
        *_edit_lines(t, effects),
        *fenced("sh", runbook.change_set_script(name, t, size, "UPDATE")),
        "",
        "If `wait change-set-create-complete` fails, the change set ended `FAILED`; see why with "
        '`aws cloudformation describe-change-set --region "$REGION" --stack-name "$STACK_NAME" '
        '--change-set-name "$CHANGE_SET" --query StatusReason --output text` (run in the same shell). '
        '"The submitted information didn\'t contain changes" means the file and template match the stack: '
        "nothing to do; remove it with `aws cloudformation delete-change-set` and the same arguments.",
        "",
    ]


def _edit_lines(t: Template, effects: Mapping[str, list[str]]) -> list[str]:
    edit = example_edit(t, effects)
    if edit is None:
        return []
    parameter, default = edit
    return [
        f"For example, to raise {code(parameter)} (an in-place change) by one with jq:",
        "",
        *fenced(
            "sh",
            f'jq \'.Parameters.{parameter} = ((.Parameters.{parameter} // "{default}") | tonumber + 1 '
            '| tostring)\' "$PARAMS" > "$PARAMS.new" && mv "$PARAMS.new" "$PARAMS"',
        ),
        "",
        "Then:",
        "",
    ]


def recover_section() -> list[str]:
    status = (
        'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" '
        "--query 'Stacks[0].[StackStatus,StackStatusReason]' --output text\n"
        'aws cloudformation describe-stack-events --region "$REGION" --stack-name "$STACK_NAME" \\\n'
        "  --query \"StackEvents[?contains(ResourceStatus, 'FAILED')].[LogicalResourceId,ResourceStatusReason]\" "
        "\\\n  --output text"
    )
    reason = "the emulator never reaches this stack state"
    return [
        "## Rolling back and recovering",
        "",
        "Start from the stack's status and the reasons of its failed resources:",
        "",
        *fenced("sh", status),
        "",
        "- `UPDATE_IN_PROGRESS` taking too long (an instance that never turns healthy): cancel the update; "
        "the stack rolls back to where it was (`UPDATE_ROLLBACK_COMPLETE`).",
        "",
        f"<!-- not-rehearsable: {reason} (UPDATE_IN_PROGRESS) -->",
        *fenced(
            "sh",
            'aws cloudformation cancel-update-stack --region "$REGION" --stack-name "$STACK_NAME"\n'
            'aws cloudformation wait stack-rollback-complete --region "$REGION" --stack-name "$STACK_NAME"',
        ),
        "",
        "- `UPDATE_ROLLBACK_FAILED`: a resource could not go back (often one changed or deleted outside "
        "CloudFormation). Fix it if you can and continue; otherwise skip it (its logical id from the events "
        "above; the stack then no longer matches it, so check it afterwards).",
        "",
        f"<!-- not-rehearsable: {reason} (UPDATE_ROLLBACK_FAILED) -->",
        *fenced(
            "sh",
            'aws cloudformation continue-update-rollback --region "$REGION" --stack-name "$STACK_NAME"\n'
            "# or, when one resource cannot be brought back:\n"
            "SKIP=replace-with-the-logical-id\n"
            'aws cloudformation continue-update-rollback --region "$REGION" --stack-name "$STACK_NAME" '
            '--resources-to-skip "$SKIP"\n'
            'aws cloudformation wait stack-rollback-complete --region "$REGION" --stack-name "$STACK_NAME"',
        ),
        "",
        "- `ROLLBACK_COMPLETE` (the first create failed): the stack cannot be updated, only deleted. Delete "
        "it, remove what it retained (see Tearing down: a failed create keeps the resources with a "
        "Retain policy, fixed names included), fix the cause and create it again.",
        "",
        f"<!-- not-rehearsable: {reason} (ROLLBACK_COMPLETE) -->",
        *fenced(
            "sh",
            'aws cloudformation delete-stack --region "$REGION" --stack-name "$STACK_NAME"\n'
            'aws cloudformation wait stack-delete-complete --region "$REGION" --stack-name "$STACK_NAME"',
        ),
        "",
        "- `UPDATE_ROLLBACK_COMPLETE`: the stack is back as it was and can be updated again.",
        "",
    ]

"""The page's sections after the first deploy: verify it, update it, roll back and recover.

What changing each parameter does comes from cfnspec.update_outcomes (the template, the registry schemas'
createOnlyProperties and a short list of AWS facts), the one source deploy.py's refusal also reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cfnspec import update_outcomes as uo
from generator import incident, runbook
from generator.markdown import code, fenced, table
from generator.shell import guarded, not_rehearsable

Template = Mapping[str, Any]
# UPDATED effects are listed by name up to this many; beyond it, counted (every tag reaches most resources).
LISTED_UPDATES = 4
NEW_STACK_LINK = f"*{uo.NEW_STACK_SECTION}*"


def _names(ids: Iterable[str]) -> str:
    return ", ".join(code(i) for i in dict.fromkeys(ids))


def failures(outcome: uo.ParameterOutcome) -> list[str]:
    """Each reason the update fails, once, with the resources it fails at."""
    by_reason: dict[str, list[str]] = {}
    for effect in outcome.failures:
        by_reason.setdefault(effect.reason, []).append(effect.logical_id)
    return [f"fails at {_names(ids)}: {reason}" for reason, ids in by_reason.items()]


def what_happens(outcome: uo.ParameterOutcome) -> str:
    """The table's cell: failures with their reasons first, then replacements, rolls, additions, updates."""
    parts = failures(outcome)
    replaced = outcome.ids(uo.REPLACED)
    if replaced:
        parts.append(f"replaces {_names(replaced)}")
    kept = [
        e.logical_id for e in outcome.effects if e.action == uo.REPLACED and "UpdateReplacePolicy" in e.reason
    ]
    if kept:
        parts.append(f"the old {_names(kept)} stay in the account under their old names, outside the stack")
    parts += [f"{code(e.logical_id)}: {e.reason}" for e in outcome.effects if e.action == uo.ROLLS]
    added = outcome.ids(uo.ADDED_OR_REMOVED)
    if added:
        parts.append(f"adds or removes {_names(added)}")
    updated = [e.logical_id for e in outcome.effects if e.action in {uo.UPDATED, uo.NEW_VERSION}]
    if updated and not parts:
        shown = _names(updated) if len(updated) <= LISTED_UPDATES else f"{len(updated)} resources"
        parts.append(f"updates {shown} in place")
    return "; ".join(parts) or "changes no resource"


def example_edit(t: Template, outcomes: Mapping[str, uo.ParameterOutcome]) -> tuple[str, str] | None:
    """A number parameter that updates in place and is bound to no other parameter (by a rule or its
    constraint), with its default: the page's example edit raises it by one."""
    params = t.get("Parameters", {})
    in_rules = {name for name, _ in uo.references(t.get("Rules", {}))}
    for p, spec in params.items():
        outcome = outcomes.get(p)
        if outcome is None or outcome.outcome is not uo.Outcome.IN_PLACE or outcome.ids(uo.ADDED_OR_REMOVED):
            continue
        if spec.get("Type") != "Number" or "Default" not in spec or p in in_rules:
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
    lines += [*fenced("sh", guarded(script)), ""]
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
            *not_rehearsable("needs the real load balancer and CloudFront distribution on the internet"),
            *fenced("sh", guarded(smoke)),
            "",
        ]
    return lines


def update_section(name: str, t: Template, size: int) -> list[str]:
    outcomes = uo.update_outcomes(t)
    rows = [[code(p), o.outcome.label, what_happens(o)] for p, o in outcomes.items()]
    return [
        "## Updating an existing stack",
        "",
        "What changing each parameter does to the deployed stack. It follows what the parameter reaches in "
        "the template: a changed create-only property replaces its resource, and a replaced resource changes "
        "whatever refers to it. *Rolls the instances*: the Auto Scaling group's rolling update replaces every "
        "instance, one batch at a time. *Needs a new stack*: CloudFormation starts the update and AWS refuses "
        f"part of it (the reason is given), so the update rolls back; see {NEW_STACK_LINK} below.",
        "",
        *table(["Parameter", "Change", "What happens"], rows),
        "",
        "Four blocks, in order. First save the deployed version, so that *Go back to the last good version* "
        "(In an incident) can return to it: the template, parameters and tags as CloudFormation has them, in "
        "the template bucket under a dated name.",
        "",
        *fenced("sh", incident.save_block()),
        "",
        "Then edit your copy of the parameter file (`$PARAMS`).",
        "",
        *_edit_lines(t, outcomes),
        "Create the change set and look at it: the block converts the file again (a converted file from "
        "before would still hold the old values), uploads the template under its sha256 and shows what the "
        "change set would do, without executing it. `Replacement` `True` means the resource is recreated, "
        "`Conditional` that it depends on a value known only during the update. It prints the line that "
        "abandons the change set.",
        "",
        *fenced("sh", runbook.review_block(name, t, size, "UPDATE")),
        "",
        "If `wait change-set-create-complete` fails, the change set ended `FAILED`; the block printed "
        "`Waiter ChangeSetCreateComplete failed` with the reason. \"The submitted information didn't "
        'contain changes" means the file and template match the stack: nothing to do (abandon it with '
        "`aws cloudformation delete-change-set`). Otherwise execute it and wait:",
        "",
        *fenced("sh", runbook.execute_block("UPDATE")),
        "",
        *_ami_lines(t),
        *new_stack_section(t, outcomes),
    ]


def new_stack_section(t: Template, outcomes: Mapping[str, uo.ParameterOutcome]) -> list[str]:
    needing = [o for o in outcomes.values() if o.outcome is uo.Outcome.NEW_STACK]
    lines = [f"### {uo.NEW_STACK_SECTION}", ""]
    if not needing:
        return [*lines, "Every parameter can be changed on the deployed stack.", ""]
    names = _names(o.parameter for o in needing)
    lines += [
        f"A change of {names} cannot be made to the deployed stack: `deploy.py deploy` and `plan` refuse it "
        "(exit 2) before creating a change set, whatever `--allow-replacement` says. Why, per parameter:",
        "",
    ]
    for o in needing:
        lines.append(f"- {code(o.parameter)}: " + "; ".join(failures(o)) + ".")
    lines.append("")
    named_by = uo.name_parameters(t)
    fresh = (
        f" and a new {_names(named_by)} (the custom names of the buckets, log groups and other named "
        "resources derive from it, so a second stack with the same value collides with the first)"
        if named_by
        else ""
    )
    lines += [
        "Make the change as a new stack instead (blue/green), next to the old one:",
        "",
        f"1. Copy the parameter file, set the new values{fresh}, and create the new stack under a new "
        "stack name as in *A new stack* above.",
        "2. Verify it (*Verifying the deployment*), copy what the old stack's buckets hold into the new "
        "ones (`aws s3 cp --recursive s3://OLD-BUCKET s3://NEW-BUCKET`), and move the traffic: point DNS and clients at "
        "the new stack's outputs.",
        "3. Once nothing uses the old stack, delete it as in *Tearing down* (its retained resources stay until "
        "you remove them).",
        "",
    ]
    return lines


def _ami_lines(t: Template) -> list[str]:
    image = [
        p
        for p, spec in t.get("Parameters", {}).items()
        if str(spec.get("Type", "")).endswith("<AWS::EC2::Image::Id>")
    ]
    if not image:
        return []
    parameter = image[0]
    query = f"Stacks[0].Parameters[?ParameterKey=='{parameter}']"
    script = guarded(
        [
            f"# The SSM parameter {parameter} names, and the AMI the running instances were launched from.",
            'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            f'  --query "{query}.[ParameterValue,ResolvedValue]" --output text',
            "# The AMI an update would launch now:",
            'SSM_NAME=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            f'  --query "{query}.ParameterValue" --output text)',
            'aws ssm get-parameter --region "$REGION" --name "$SSM_NAME" --query Parameter.Value --output text',
        ]
    )
    return [
        "### The AMI is resolved again on every update",
        "",
        f"{code(parameter)} names an SSM parameter, and CloudFormation reads it again on every update: when a "
        "new image has been published since the last update, any update, even of an alarm threshold, "
        "launches a new launch template version and the rolling update replaces every instance. `deploy.py` "
        "compares the two AMIs and shows a change as a `DANGER` line of its review. To see it yourself:",
        "",
        *not_rehearsable(
            "the emulator keeps the resolved AMI id as the parameter value and has no ResolvedValue"
        ),
        *fenced("sh", script),
        "",
        "To stay on one AMI, pass the name of an SSM parameter of your own that holds it (`aws ssm "
        "put-parameter --type String --data-type aws:ec2:image --name NAME --value AMI_ID`) and change that "
        "parameter when you choose to roll the instances.",
        "",
    ]


def _edit_lines(t: Template, outcomes: Mapping[str, uo.ParameterOutcome]) -> list[str]:
    edit = example_edit(t, outcomes)
    if edit is None:
        return []
    parameter, default = edit
    return [
        f"For example, to raise {code(parameter)} (an in-place change) by one with jq:",
        "",
        *fenced(
            "sh",
            guarded(
                [
                    f'jq \'.Parameters.{parameter} = ((.Parameters.{parameter} // "{default}") | tonumber + 1 '
                    '| tostring)\' "$PARAMS" > "$PARAMS.new" && mv "$PARAMS.new" "$PARAMS"'
                ]
            ),
        ),
        "",
    ]

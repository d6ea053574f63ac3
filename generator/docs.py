"""output/<name>.md: the hand-off page for a team that deploys with the console or the plain AWS CLI.

Every section is read from the template dict, so the page cannot drift from the template it describes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cfnspec.capabilities import CONSOLE_ACKNOWLEDGEMENTS
from cfnspec.limits import RESOURCE_LIMIT
from generator import (
    costs,
    describe,
    incident,
    lifecycle,
    permissions,
    preflight_cli,
    prerequisites,
    recreate,
    runbook,
    shell,
    teardown,
)
from generator.environments import ENVIRONMENTS, Environment
from generator.examples import parameter_file_name
from generator.markdown import code, fenced, table


def _files_section(name: str, t: Mapping[str, Any], size: int, envs: Sequence[Environment]) -> list[str]:
    count = len(describe.resources(t))
    fit = (
        "within the limit for `--template-body`"
        if size <= runbook.INLINE_LIMIT
        else "over the limit for `--template-body`: upload it to S3 and use `--template-url`"
    )
    rows = [
        [
            code(f"{name}.json"),
            f"The template: {count} resources (CloudFormation allows {RESOURCE_LIMIT}), {size:,} bytes "
            f"({fit}, {runbook.INLINE_LIMIT:,} bytes).",
        ],
        [code(parameter_file_name(name)), "Every parameter at its default."],
        [
            code(permissions.policy_file_name(name)),
            "The IAM policy whoever deploys needs (see Permissions of whoever deploys).",
        ],
    ]
    rows += [[code(parameter_file_name(name, env.name)), env.purpose] for env in envs]
    lines = ["## Appendix A: Files", "", *table(["File", "Contents"], rows), ""]
    lines += [
        "Parameter files use the CodePipeline template-configuration format, "
        '`{"Parameters": {"Name": "value"}, "Tags": {"Key": "value"}}` with every value a string. '
        "CodePipeline, AWS CLI v2's `aws cloudformation deploy` and this project's `deploy.py` read it as "
        "it is; "
        "`create-change-set` needs the list format: the change-set blocks below convert it with `jq` each "
        "time they run.",
        "",
    ]
    notes = runbook.environment_notes(envs, t)
    if notes:
        lines += ["Before using a sample file, replace its placeholders:", "", *notes, ""]
    return lines


def _resources_section(t: Mapping[str, Any]) -> list[str]:
    res = describe.resources(t)
    groups = describe.components(t)
    lines = [
        "## Appendix B: What the stack creates",
        "",
        f"{len(res)} resources in {len(groups)} components, grouped by each resource's `Component` tag; a "
        "resource that cannot carry tags (a policy, a route, a service-linked role) is listed with the "
        "resources it belongs to. A resource with a condition exists only while the condition holds.",
        "",
    ]
    for component, ids in groups.items():
        rows = [
            [
                code(i),
                code(res[i].get("Type")),
                code(res[i]["Condition"]) if "Condition" in res[i] else "always",
            ]
            for i in ids
        ]
        lines += [
            f"### {component} ({len(ids)})",
            "",
            *table(["Logical id", "Type", "Created when"], rows),
            "",
        ]
    conditions = t.get("Conditions", {})
    if conditions:
        rows = [[code(n), describe.expression(body)] for n, body in conditions.items()]
        lines += ["### Conditions", "", *table(["Condition", "True when"], rows), ""]
    return lines


def _parameter_block(name: str, spec: Mapping[str, Any], label: str | None, group: str | None) -> list[str]:
    heading = f"#### {code(name)}" + (f": {label}" if label else "")
    facts = [f"- Type: {code(spec.get('Type', 'String'))}"]
    if group:
        facts.append(f"- Console group: {group}")
    if "Default" in spec:
        facts.append(f"- Default: {code(spec['Default'])}")
    else:
        facts.append("- Default: none, a value is required")
    if "AllowedValues" in spec:
        facts.append("- Allowed values: " + ", ".join(code(v) for v in spec["AllowedValues"]))
    if "AllowedPattern" in spec:
        facts.append(f"- Allowed pattern: {code(spec['AllowedPattern'])}")
    if "MinLength" in spec or "MaxLength" in spec:
        facts.append(
            f"- Length: {spec.get('MinLength', 0)} to {spec.get('MaxLength', 'any number of')} characters"
        )
    if "MinValue" in spec or "MaxValue" in spec:
        facts.append(f"- Range: {spec.get('MinValue', 'no minimum')} to {spec.get('MaxValue', 'no maximum')}")
    if spec.get("NoEcho"):
        facts.append("- NoEcho: the value is masked in the console and API")
    facts.append(f"- What to enter: {spec.get('Description', '(no description)')}")
    if "ConstraintDescription" in spec:
        facts.append(f"- When rejected: {spec['ConstraintDescription']}")
    return [heading, "", *facts, ""]


def _parameters_section(t: Mapping[str, Any]) -> list[str]:
    params: Mapping[str, Any] = t.get("Parameters", {})
    if not params:
        return ["## Appendix D: Parameters", "", "The template has no parameters.", ""]
    groups, labels = describe.interface(t)
    grouped = {p for _, names in groups for p in names}
    ungrouped = [p for p in params if p not in grouped]
    sections = [(label, [p for p in names if p in params]) for label, names in groups]
    if ungrouped:
        sections.append(("Other parameters", ungrouped))
    summary = [
        [
            code(p),
            labels.get(p, ""),
            group,
            code(params[p]["Default"]) if "Default" in params[p] else "(required)",
        ]
        for group, names in sections
        for p in names
    ]
    lines = [
        "## Appendix D: Parameters",
        "",
        f"{len(params)} parameters, in the console's groups and order. Every one with a default can "
        "be left out.",
        "",
        *table(["Parameter", "Console label", "Console group", "Default"], summary),
        "",
    ]
    lines += _rules_block(t)
    for group, names in sections:
        lines += [f"### {group}", ""]
        for p in names:
            lines += _parameter_block(
                p, params[p], labels.get(p), group if group != "Other parameters" else None
            )
    return lines


def _rules_block(t: Mapping[str, Any]) -> list[str]:
    """The template's Rules: constraints across parameters, checked when a change set is created."""
    rules: Mapping[str, Any] = t.get("Rules", {})
    if not rules:
        return []
    rows = [
        [
            code(name),
            describe.expression(rule["RuleCondition"]) if "RuleCondition" in rule else "always",
            describe.expression(assertion.get("Assert")),
            assertion.get("AssertDescription", ""),
        ]
        for name, rule in rules.items()
        for assertion in rule.get("Assertions", [])
    ]
    return [
        "Values must also satisfy these rules across parameters. CloudFormation checks them when the "
        "change set is created (in the console: when you submit), and a failed rule rejects it with the "
        "message shown, before anything changes:",
        "",
        *table(["Rule", "Applies when", "Must hold", "Message when it does not"], rows),
        "",
    ]


def _outputs_section(t: Mapping[str, Any]) -> list[str]:
    outputs: Mapping[str, Any] = t.get("Outputs", {})
    if not outputs:
        return ["## Appendix E: Outputs", "", "The template has no outputs.", ""]
    rows = [
        [
            code(n),
            o.get("Description", ""),
            code(describe.export_name(o)) if describe.export_name(o) else "(not exported)",
            code(o["Condition"]) if "Condition" in o else "always",
        ]
        for n, o in outputs.items()
    ]
    return [
        "## Appendix E: Outputs",
        "",
        *table(["Output", "Description", "Export name", "Present when"], rows),
        "",
        "`<stack-name>` is the name you give the stack. Other stacks read an export with "
        "`Fn::ImportValue`; while one does, the export cannot change or be removed and this stack cannot be "
        'deleted. List them with `aws cloudformation list-exports --region "$REGION"`.',
        "",
    ]


def _capabilities_section(t: Mapping[str, Any]) -> list[str]:
    caps = describe.capabilities(t)
    lines = ["## Capabilities", ""]
    if not caps:
        return [*lines, "None: the stack creates no IAM resources and uses no macros.", ""]
    for cap, ids in caps:
        why = f" because of {', '.join(code(i) for i in ids)}" if ids else ""
        lines.append(f'- {code(cap)}{why}. In the console, tick: "{CONSOLE_ACKNOWLEDGEMENTS[cap]}"')
    lines += ["", "Pass them with `--capabilities` (the commands below already do).", ""]
    return lines


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def contents(lines: Sequence[str]) -> list[str]:
    """The table of contents: every section, and the subsections of those that are not appendices."""
    found, in_appendix, fenced_code = [], False, False
    for line in lines:
        if line.startswith("```"):
            fenced_code = not fenced_code
        if fenced_code:
            continue
        if line.startswith("## "):
            title = line[3:]
            in_appendix = title.startswith("Appendix")
            found.append(f"- [{title}](#{anchor(title)})")
        elif line.startswith("### ") and not in_appendix:
            title = line[4:]
            found.append(f"  - [{title}](#{anchor(title)})")
    return ["## Contents", "", *found, ""]


def _before_first_command(name: str, t: Mapping[str, Any], size: int, example: Environment) -> list[str]:
    return [
        "## Before the first command",
        "",
        "Every block runs with the AWS CLI (v1 or v2) and jq, from the folder that holds `output/`. Run this "
        "block once in each new shell: it checks for jq, the AWS CLI, the folder, credentials and "
        "placeholders left in your parameter file, and sets the variables every other block uses. When a "
        "check fails it says what to fix and leaves `REGION` unset, and every other block then refuses to "
        "start.",
        "",
        *fenced("sh", shell.variables_block(name, t, example.name, size)),
        "",
    ]


def render_page(
    name: str, t: Mapping[str, Any], size: int, environments: Sequence[Environment] = ENVIRONMENTS
) -> str:
    # The commands use the first sample environment (dev) as their worked example.
    example = environments[0] if environments else Environment(name="dev", purpose="", parameters={})
    quick = [
        *incident.incident_section(name, t, size),
        *_before_first_command(name, t, size, example),
        "## Checking the account",
        "",
        *preflight_cli.checks_section(name, t),
        *runbook.deployment_section(name, t, size, example),
        *lifecycle.verify_section(t),
        *lifecycle.update_section(name, t, size),
        *teardown.stateful_section(name, t),
        *recreate.recreate_section(name, t, size),
    ]
    more = [
        *runbook.console_section(name, t, example),
        "## Validating before you deploy",
        "",
        *runbook.validation_section(name, t, size),
        *costs.cost_section(t),
        *_capabilities_section(t),
    ]
    appendices = [
        *_files_section(name, t, size, environments),
        *_resources_section(t),
        "## Appendix C: Account prerequisites",
        "",
        *prerequisites.prerequisites_section(t),
        *_parameters_section(t),
        *_outputs_section(t),
    ]
    body = [*quick, *more, *appendices]
    lines = [
        f"# {name}",
        "",
        f"<!-- Generated by generate.py from output/{name}.json. Do not edit: the next run overwrites "
        "it. -->",
        "",
    ]
    if t.get("Description"):
        lines += [str(t["Description"]), ""]
    lines += [
        "**Prerequisites:** the AWS CLI (v1 or v2) and jq, run from the folder that holds `output/`, after "
        "the variables block of [Before the first command](#before-the-first-command). In an incident, start "
        "at [In an incident](#in-an-incident).",
        "",
        *contents(body),
        *body,
    ]
    return "\n".join(lines).rstrip("\n") + "\n"

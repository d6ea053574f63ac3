"""Offline validation of a parameter file against a template's own Parameters constraints.

The file is in the CodePipeline template-configuration format (`{"Parameters": {...}, "Tags": {...}}`), the
format deploy.py and the operations team's pipelines read. Each check mirrors what CloudFormation does when a
change set is created (each value's constraints, then the template's Rules across parameters), so a file that
passes here is not rejected for its values there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cfnspec.parameters import PLACEHOLDER_MARK, check_value, group_size_problems
from cfnspec.tags import tag_problems
from generator.describe import expression

TOP_LEVEL_KEYS = {"Parameters", "Tags", "StackPolicy"}


class ParameterFileError(ValueError):
    """A parameter file CloudFormation would reject; the message lists every problem."""


def _check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, dict):
        return [f"Tags must be an object of tag names to string values, got {type(tags).__name__}"]
    return tag_problems(tags)


class NotOffline(Exception):
    """A rule uses something only CloudFormation can resolve (a pseudo parameter, Fn::ValueOf...)."""


def _list_value(value: str, ptype: str) -> str | list[str]:
    return (
        [item.strip() for item in value.split(",")]
        if ptype.startswith(("List<", "CommaDelimited"))
        else value
    )


def evaluate(expr: Any, values: Mapping[str, str | list[str]]) -> Any:
    """The value of a Rules expression for the given parameter values, as CloudFormation computes it.

    Covers the rule functions that only compare parameter values: Ref, Fn::Equals, Fn::Not, Fn::And, Fn::Or,
    Fn::Contains, Fn::EachMemberEquals and Fn::EachMemberIn. Anything else raises NotOffline.
    """
    if isinstance(expr, str):
        return expr
    if isinstance(expr, list):
        return [evaluate(item, values) for item in expr]
    if not isinstance(expr, dict) or len(expr) != 1:
        raise NotOffline(f"cannot evaluate {expr!r}")
    function, args = next(iter(expr.items()))
    if function == "Ref":
        if args not in values:
            raise NotOffline(f"Ref {args} is not a parameter")
        return values[args]
    if function == "Fn::Not":
        return not _truth(evaluate(args[0], values))
    if function == "Fn::And":
        return all(_truth(evaluate(a, values)) for a in args)
    if function == "Fn::Or":
        return any(_truth(evaluate(a, values)) for a in args)
    left, right = (evaluate(a, values) for a in args)
    if function == "Fn::Equals":
        return left == right
    if function == "Fn::Contains":
        return right in left
    if function == "Fn::EachMemberEquals":
        return all(member == right for member in left)
    if function == "Fn::EachMemberIn":
        return all(member in right for member in left)
    raise NotOffline(f"{function} is not evaluated offline")


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise NotOffline(f"{value!r} is not a condition")


def _rule_values(template: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {}
    for name, spec in template.get("Parameters", {}).items():
        raw = params.get(name, spec.get("Default"))
        if raw is not None:
            values[name] = _list_value(str(raw), str(spec.get("Type", "String")))
    return values


def check_rules(template: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, rules that cannot be checked offline) for the template's Rules and these values.

    A rule applies when its RuleCondition holds (or it has none); each of its assertions must then hold,
    exactly as CloudFormation checks them when a change set is created.
    """
    values = _rule_values(template, params)
    problems: list[str] = []
    unchecked: list[str] = []
    for rule_name, rule in template.get("Rules", {}).items():
        try:
            if "RuleCondition" in rule and not _truth(evaluate(rule["RuleCondition"], values)):
                continue
            for assertion in rule.get("Assertions", []):
                if not _truth(evaluate(assertion["Assert"], values)):
                    why = assertion.get("AssertDescription") or expression(assertion["Assert"])
                    problems.append(f"rule {rule_name} ({expression(assertion['Assert'])}) fails: {why}")
        except (NotOffline, TypeError, ValueError, IndexError, KeyError) as err:
            unchecked.append(f"{rule_name}: {err}")
    return problems, unchecked


def validate_parameter_file(template: Mapping[str, Any], data: Any) -> list[str]:
    """Every problem with a parsed parameter file for a parsed template; empty when the file is valid."""
    if not isinstance(data, dict):
        return ['the file must be a JSON object: {"Parameters": {...}, "Tags": {...}}']
    problems = [
        f"unknown top-level key {key!r} (allowed: {sorted(TOP_LEVEL_KEYS)})"
        for key in data
        if key not in TOP_LEVEL_KEYS
    ]
    params = data.get("Parameters", {})
    if not isinstance(params, dict):
        return [*problems, "Parameters must be an object of parameter names to string values"]
    specs: Mapping[str, Any] = template.get("Parameters", {})
    for name in [n for n in params if n not in specs]:
        problems.append(f"{name} is not a parameter of the template (it has: {', '.join(specs)})")
    for name, spec in specs.items():
        if name not in params:
            if "Default" not in spec:
                problems.append(f"{name} has no default, so the file must give it a value")
            continue
        value = params[name]
        if not isinstance(value, str):
            problems.append(
                f'{name}: values must be JSON strings (write "{value}"), got {type(value).__name__}'
            )
            continue
        # A placeholder may break the parameter's pattern on purpose (so CloudFormation refuses it too); it is
        # listed as a placeholder instead, and deploy.py refuses it.
        if PLACEHOLDER_MARK not in value:
            problems += check_value(name, value, spec)
    # A rule that cannot be evaluated here is left to CloudFormation; a test keeps the stacks' rules checkable.
    problems += check_rules(template, params)[0]
    # Rules cannot compare numbers, so the Auto Scaling sizes are checked here (and by deploy.py) instead.
    problems += group_size_problems(template, _known_values(template, params))
    if "Tags" in data:
        problems += _check_tags(data["Tags"])
    return problems


def _known_values(template: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, str | None]:
    values = _rule_values(template, params)
    return {name: value for name, value in values.items() if isinstance(value, str)}


def check_parameter_file(template_path: Path, parameter_path: Path) -> None:
    """Raise ParameterFileError naming the file and every problem; return quietly when the file is valid."""
    template = json.loads(template_path.read_text(encoding="utf-8"))
    try:
        data = json.loads(parameter_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ParameterFileError(f"{parameter_path}: not valid JSON: {err}") from err
    problems = validate_parameter_file(template, data)
    if problems:
        raise ParameterFileError(
            f"{parameter_path} does not fit {template_path.name}:\n" + "\n".join(f"  - {p}" for p in problems)
        )

"""Example parameter files in the CodePipeline template-configuration format.

`<name>.parameters.json` holds every parameter at its default; `<name>.<env>.parameters.json` one per sample
environment (generator/environments.py). deploy.py reads the same format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.environments import ENVIRONMENTS, Environment
from generator.render import to_json


def parameter_file_name(template_name: str, environment: str | None = None) -> str:
    middle = f".{environment}" if environment else ""
    return f"{template_name}{middle}.parameters.json"


def as_parameter_value(value: Any) -> str:
    """The string a template-configuration file holds for a template Default (which may be a number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def default_values(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: as_parameter_value(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }


def environment_values(template: Mapping[str, Any], env: Environment) -> dict[str, str]:
    """Every parameter with a default, the environment's value where it sets one (template order)."""
    values = default_values(template)
    for name in template.get("Parameters", {}):
        if name in env.parameters:
            values[name] = env.parameters[name]
    return values


def parameter_files(
    template_name: str, template: Mapping[str, Any], environments: Sequence[Environment] = ENVIRONMENTS
) -> dict[str, str]:
    """File name -> content for the defaults file and one file per environment."""
    files = {
        parameter_file_name(template_name): to_json({"Parameters": default_values(template), "Tags": {}})
    }
    for env in environments:
        content = {"Parameters": environment_values(template, env), "Tags": dict(env.tags)}
        files[parameter_file_name(template_name, env.name)] = to_json(content)
    return files

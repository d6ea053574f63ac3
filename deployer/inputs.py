"""What the deployer checks before it calls AWS: template, parameters, tags (capabilities in capabilities.py).

All of it is pure (files in, values or BadInput out), so a bad input can never leave a half-made change behind.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnspec.limits import INLINE_TEMPLATE_LIMIT as INLINE_TEMPLATE_LIMIT  # re-exported for callers
from cfnspec.limits import S3_TEMPLATE_LIMIT
from cfnspec.parameters import check_value, group_size_problems, placeholder_problems
from cfnspec.tags import tag_problems
from deployer.errors import BadInput

TEMPLATE_CONFIG_KEYS = frozenset({"Parameters", "Tags", "StackPolicy"})
PARAMETER_FILE_FORMATS = (
    'use [{"ParameterKey": "K", "ParameterValue": "V"}], {"Parameters": {"K": "V"}, "Tags": {..}, '
    '"StackPolicy": {..}} (CodePipeline template configuration) or a flat {"K": "V"}'
)


@dataclass(frozen=True)
class Template:
    path: Path
    body: str
    doc: Mapping[str, Any]

    @property
    def size(self) -> int:
        return utf8_size(self.body)

    @property
    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        params = self.doc.get("Parameters") or {}
        return params if isinstance(params, Mapping) else {}


@dataclass(frozen=True)
class ParameterFile:
    parameters: dict[str, str | None] = field(default_factory=dict)  # None: UsePreviousValue
    tags: dict[str, str] = field(default_factory=dict)
    stack_policy: dict[str, Any] | None = None


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def load_template(path: Path) -> Template:
    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(
            f"cannot read template {path}: {err}",
            hint="check the --template-file path (make generate writes output/)",
        ) from err
    size = utf8_size(body)
    if size > S3_TEMPLATE_LIMIT:
        raise BadInput(
            f"template {path} is {size:,} bytes; CloudFormation accepts at most {S3_TEMPLATE_LIMIT:,} bytes even "
            "through S3",
            hint="split it into nested stacks or shorten it",
        )
    return Template(path=path, body=body, doc=parse_template(body, str(path)))


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object_pairs_hook: Python's json keeps the last of two equal keys without a word; refuse instead."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def loads_unique(text: str, what: str) -> Any:
    """json.loads that refuses a key written twice in one object, naming the key and the file (exit 2)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_object)
    except _DuplicateKey as dup:
        raise BadInput(
            f"{what}: key {dup.key!r} is written twice in one JSON object (only the last one would count)",
            hint="keep one of them",
        ) from None


def parse_template(body: str, name: str) -> Mapping[str, Any]:
    try:
        doc = loads_unique(body, f"template {name}")
    except json.JSONDecodeError as err:
        if body.lstrip().startswith("{"):
            raise BadInput(
                f"template {name} is not valid JSON: {err}",
                hint="fix the syntax at that line and column (cfn-lint TEMPLATE lists every problem)",
            ) from err
        doc = _parse_yaml(body, name)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("Resources"), Mapping) or not doc["Resources"]:
        raise BadInput(
            f"template {name} has no Resources section",
            hint="pass a CloudFormation template (a JSON or YAML object with at least one resource)",
        )
    return doc


def _parse_yaml(body: str, name: str) -> Mapping[str, Any]:
    # cfn-lint's decoder understands the short intrinsic tags (!Ref, !Sub) that plain YAML loaders reject.
    from cfnlint.decode import decode_str

    doc, matches = decode_str(body)
    if doc is None:
        detail = "; ".join(str(m.message) for m in matches) or "unparseable"
        raise BadInput(
            f"template {name} is neither valid JSON nor valid YAML: {detail}",
            hint="fix the syntax at the position shown (cfn-lint TEMPLATE lists every problem)",
        )
    return doc


# ---- parameter files -----------------------------------------------------------------------------------------


def load_parameter_file(path: Path) -> ParameterFile:
    try:
        data = loads_unique(path.read_text(encoding="utf-8"), f"parameters file {path}")
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(
            f"cannot read parameters file {path}: {err}", hint="check the --parameters-file path"
        ) from err
    except json.JSONDecodeError as err:
        raise BadInput(
            f"parameters file {path} is not valid JSON: {err}", hint=PARAMETER_FILE_FORMATS
        ) from err
    return parse_parameter_document(data, str(path))


def parse_parameter_document(data: Any, name: str) -> ParameterFile:
    """Accept the three formats people already have; reject anything else with the formats spelled out."""
    if isinstance(data, list):
        return ParameterFile(parameters=_from_cli_list(data, name))
    # CodePipeline's template configuration: every one of its three keys is optional, and each holds an object.
    if isinstance(data, dict) and any(isinstance(data.get(key), dict) for key in TEMPLATE_CONFIG_KEYS):
        return _from_template_configuration(data, name)
    if isinstance(data, dict) and all(not isinstance(v, dict | list) for v in data.values()):
        return ParameterFile(parameters={str(k): _scalar(v, name, str(k)) for k, v in data.items()})
    raise BadInput(f"parameters file {name} is in no format this tool reads", hint=PARAMETER_FILE_FORMATS)


def _from_cli_list(items: list[Any], name: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("ParameterKey"), str):
            raise BadInput(
                f"parameters file {name}: entry {i} has no ParameterKey string", hint=PARAMETER_FILE_FORMATS
            )
        key = item["ParameterKey"]
        if key in out:
            raise BadInput(
                f"parameters file {name}: ParameterKey {key!r} is given twice (entries {_index_of(items, key)} "
                f"and {i})",
                hint="keep one of them",
            )
        if item.get("UsePreviousValue") is True:
            out[key] = None
        elif "ParameterValue" in item:
            out[key] = _scalar(item["ParameterValue"], name, key)
        else:
            raise BadInput(
                f"parameters file {name}: {key} has neither ParameterValue nor UsePreviousValue: true",
                hint=PARAMETER_FILE_FORMATS,
            )
    return out


def _index_of(items: list[Any], key: str) -> int:
    return next(i for i, item in enumerate(items) if item.get("ParameterKey") == key)


def _from_template_configuration(data: dict[str, Any], name: str) -> ParameterFile:
    unknown = sorted(set(data) - TEMPLATE_CONFIG_KEYS)
    if unknown:
        raise BadInput(
            f"parameters file {name}: unknown template-configuration keys {unknown}",
            hint=PARAMETER_FILE_FORMATS,
        )
    parameters = data.get("Parameters") or {}
    tags = data.get("Tags") or {}
    if not isinstance(parameters, dict) or not isinstance(tags, dict):
        raise BadInput(
            f"parameters file {name}: Parameters and Tags must each be an object of Key: Value",
            hint=PARAMETER_FILE_FORMATS,
        )
    policy = data.get("StackPolicy")
    if policy is not None:
        validate_stack_policy(policy, name)
    return ParameterFile(
        parameters={str(k): _scalar(v, name, str(k)) for k, v in parameters.items()},
        tags={str(k): _scalar(v, name, str(k)) for k, v in tags.items()},
        stack_policy=policy,
    )


def _scalar(value: Any, name: str, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadInput(
        f"{name}: value of {key} must be a string or a number, not {type(value).__name__}",
        hint='write lists as one comma-separated string, e.g. "subnet-1,subnet-2"',
    )


def validate_stack_policy(policy: Any, name: str) -> None:
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        raise BadInput(
            f"stack policy in {name} must be a JSON object with a Statement list",
            hint='write it as {"Statement": [{"Effect": ..., "Action": ..., "Principal": "*", "Resource": ...}]}',
        )


def load_stack_policy(path: Path) -> dict[str, Any]:
    try:
        policy = loads_unique(path.read_text(encoding="utf-8"), f"stack policy {path}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadInput(
            f"cannot read stack policy {path}: {err}",
            hint='the --stack-policy-file must be JSON like {"Statement": [...]}',
        ) from err
    validate_stack_policy(policy, str(path))
    return dict(policy)


def parse_key_values(items: Iterable[str], what: str) -> dict[str, str]:
    """Key=Value pairs as the AWS CLI takes them (the value may itself contain '=')."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(
                f"{what} {item!r} is not Key=Value", hint="write each one as Key=Value, e.g. Team=web"
            )
        if key in out:
            raise BadInput(
                f"{what} {key!r} is given twice ({key}={out[key]} and {item})", hint="keep one of them"
            )
        out[key] = value
    return out


def validate_tags(tags: Mapping[str, str]) -> None:
    problems = tag_problems(tags)
    if problems:
        raise BadInput("; ".join(problems), hint="fix the tags given with --tags or in the parameters file")


# ---- parameters against the template --------------------------------------------------------------------------


def _given_problems(template: Template, given: Mapping[str, str | None]) -> list[str]:
    """Unknown names and constraint violations among the values given: needs no AWS call."""
    declared = template.parameters
    problems = []
    problems += _unknown_names(sorted(set(given) - set(declared)), list(declared))
    for name, spec in declared.items():
        value = given.get(name)
        if value is not None:
            problems += check_value(name, value, spec)
    return problems + _across_problems(template, given)


def _unknown_names(unknown: list[str], declared: list[str]) -> list[str]:
    """A typo is answered with the name it most likely meant; other unknown names with the declared list."""
    problems = []
    strangers = []
    for name in unknown:
        close = difflib.get_close_matches(name, declared, n=1)
        if close:
            problems.append(f"unknown parameter {name}: did you mean {close[0]}?")
        else:
            strangers.append(name)
    if strangers:
        problems.append(
            f"unknown parameter(s) {', '.join(strangers)}; the template declares {', '.join(declared)}"
        )
    return problems


def _across_problems(template: Template, known: Mapping[str, str | None]) -> list[str]:
    """Example placeholders and Auto Scaling sizes among the values known before the change set is made."""
    return placeholder_problems(template.doc, known) + group_size_problems(template.doc, known)


def _reject(problems: list[str]) -> None:
    if problems:
        raise BadInput(
            "parameters rejected: " + "; ".join(problems),
            hint="correct them in --parameter-overrides or --parameters-file",
        )


def check_given_parameters(template: Template, given: Mapping[str, str | None]) -> None:
    """Reject unknown names and invalid values before anything reads or changes the stack."""
    _reject(_given_problems(template, given))


def resolve_parameters(
    template: Template, given: Mapping[str, str | None], existing: Iterable[str] | None
) -> list[dict[str, Any]]:
    """The Parameters argument for CreateChangeSet, after checking every value against the template.

    `existing` is the deployed stack's parameter names (None for a new stack): a parameter that is not given keeps
    its previous value when both the old and the new template have it; a new one takes its default.
    """
    previous = set(existing) if existing is not None else set()
    problems = _given_problems(template, given)
    out: list[dict[str, Any]] = []
    defaults: dict[str, str | None] = {}
    for name, spec in template.parameters.items():
        value = given.get(name)
        if name in given and value is not None:
            out.append({"ParameterKey": name, "ParameterValue": value})
        elif name in previous:
            out.append({"ParameterKey": name, "UsePreviousValue": True})
        elif name in given:
            problems.append(f"{name}: UsePreviousValue given, but the deployed stack has no such parameter")
        elif "Default" not in spec:
            problems.append(
                f"{name}: required (the template gives no Default); pass --parameter-overrides {name}=..."
            )
        else:
            defaults[name] = _default_text(spec["Default"])
    # Defaults now join the values checked together (a given MinSize against MaxSize's default); the
    # given values alone were checked above, so only findings that need a default are added.
    known = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    problems += [p for p in _across_problems(template, known) if p not in problems]
    _reject(problems)
    return out


def _default_text(default: Any) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, list):
        return ",".join(str(item) for item in default)
    return str(default)

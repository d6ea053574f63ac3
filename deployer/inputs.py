"""Everything the deployer checks before it calls AWS: template, parameters, tags, capabilities.

All of it is pure (files in, values or BadInput out), so a bad input can never leave a half-made change behind.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.errors import BadInput

INLINE_TEMPLATE_LIMIT = 51_200  # TemplateBody limit, in UTF-8 bytes
S3_TEMPLATE_LIMIT = 1_000_000  # TemplateURL limit (1 MB), in UTF-8 bytes

IAM_TYPES = frozenset(
    {
        "AWS::IAM::AccessKey",
        "AWS::IAM::Group",
        "AWS::IAM::GroupPolicy",
        "AWS::IAM::InstanceProfile",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::IAM::RolePolicy",
        "AWS::IAM::User",
        "AWS::IAM::UserPolicy",
        "AWS::IAM::UserToGroupAddition",
    }
)
# A custom name on one of these needs CAPABILITY_NAMED_IAM instead of CAPABILITY_IAM.
IAM_NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
TEMPLATE_CONFIG_KEYS = frozenset({"Parameters", "Tags", "StackPolicy"})


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
        raise BadInput(f"cannot read template {path}: {err}") from err
    size = utf8_size(body)
    if size > S3_TEMPLATE_LIMIT:
        raise BadInput(
            f"template {path} is {size:,} bytes; CloudFormation accepts at most {S3_TEMPLATE_LIMIT:,} bytes even "
            "through S3",
            hint="split it into nested stacks or shorten it",
        )
    return Template(path=path, body=body, doc=parse_template(body, str(path)))


def parse_template(body: str, name: str) -> Mapping[str, Any]:
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as err:
        if body.lstrip().startswith("{"):
            raise BadInput(f"template {name} is not valid JSON: {err}") from err
        doc = _parse_yaml(body, name)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("Resources"), Mapping) or not doc["Resources"]:
        raise BadInput(f"template {name} has no Resources section; is this a CloudFormation template?")
    return doc


def _parse_yaml(body: str, name: str) -> Mapping[str, Any]:
    # cfn-lint's decoder understands the short intrinsic tags (!Ref, !Sub) that plain YAML loaders reject.
    from cfnlint.decode import decode_str

    doc, matches = decode_str(body)
    if doc is None:
        detail = "; ".join(str(m.message) for m in matches) or "unparseable"
        raise BadInput(f"template {name} is neither valid JSON nor valid YAML: {detail}")
    return doc


# ---- parameter files -----------------------------------------------------------------------------------------


def load_parameter_file(path: Path) -> ParameterFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"cannot read parameters file {path}: {err}") from err
    except json.JSONDecodeError as err:
        raise BadInput(f"parameters file {path} is not valid JSON: {err}") from err
    return parse_parameter_document(data, str(path))


def parse_parameter_document(data: Any, name: str) -> ParameterFile:
    """Accept the three formats people already have; reject anything else with the formats spelled out."""
    if isinstance(data, list):
        return ParameterFile(parameters=_from_cli_list(data, name))
    if isinstance(data, dict) and "Parameters" in data and isinstance(data["Parameters"], dict):
        return _from_template_configuration(data, name)
    if isinstance(data, dict) and all(not isinstance(v, dict | list) for v in data.values()):
        return ParameterFile(parameters={str(k): _scalar(v, name, str(k)) for k, v in data.items()})
    raise BadInput(
        f"parameters file {name} is in no format this tool reads",
        hint='use [{"ParameterKey": "K", "ParameterValue": "V"}], {"Parameters": {"K": "V"}, "Tags": {..}, '
        '"StackPolicy": {..}} (CodePipeline template configuration) or a flat {"K": "V"}',
    )


def _from_cli_list(items: list[Any], name: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("ParameterKey"), str):
            raise BadInput(f"parameters file {name}: entry {i} has no ParameterKey string")
        key = item["ParameterKey"]
        if item.get("UsePreviousValue") is True:
            out[key] = None
        elif "ParameterValue" in item:
            out[key] = _scalar(item["ParameterValue"], name, key)
        else:
            raise BadInput(
                f"parameters file {name}: {key} has neither ParameterValue nor UsePreviousValue: true"
            )
    return out


def _from_template_configuration(data: dict[str, Any], name: str) -> ParameterFile:
    unknown = sorted(set(data) - TEMPLATE_CONFIG_KEYS)
    if unknown:
        raise BadInput(f"parameters file {name}: unknown template-configuration keys {unknown}")
    tags = data.get("Tags") or {}
    if not isinstance(tags, dict):
        raise BadInput(f"parameters file {name}: Tags must be an object of Key: Value")
    policy = data.get("StackPolicy")
    if policy is not None:
        validate_stack_policy(policy, name)
    return ParameterFile(
        parameters={str(k): _scalar(v, name, str(k)) for k, v in data["Parameters"].items()},
        tags={str(k): _scalar(v, name, str(k)) for k, v in tags.items()},
        stack_policy=policy,
    )


def _scalar(value: Any, name: str, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadInput(f"{name}: value of {key} must be a string or a number, not {type(value).__name__}")


def validate_stack_policy(policy: Any, name: str) -> None:
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        raise BadInput(f"stack policy in {name} must be a JSON object with a Statement list")


def load_stack_policy(path: Path) -> dict[str, Any]:
    try:
        policy = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadInput(f"cannot read stack policy {path}: {err}") from err
    validate_stack_policy(policy, str(path))
    return dict(policy)


def parse_key_values(items: Iterable[str], what: str) -> dict[str, str]:
    """Key=Value pairs as the AWS CLI takes them (the value may itself contain '=')."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"{what} {item!r} is not Key=Value")
        out[key] = value
    return out


def validate_tags(tags: Mapping[str, str]) -> None:
    problems = []
    if len(tags) > 50:
        problems.append(f"{len(tags)} tags given; a stack takes at most 50")
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            problems.append(f"tag {key!r}: the aws: prefix is reserved")
        if not 1 <= len(key) <= 128:
            problems.append(f"tag {key!r}: keys are 1 to 128 characters")
        if len(value) > 256:
            problems.append(f"tag {key!r}: values are at most 256 characters")
    if problems:
        raise BadInput("; ".join(problems))


# ---- parameters against the template --------------------------------------------------------------------------


def resolve_parameters(
    template: Template, given: Mapping[str, str | None], existing: Iterable[str] | None
) -> list[dict[str, Any]]:
    """The Parameters argument for CreateChangeSet, after checking every value against the template.

    `existing` is the deployed stack's parameter names (None for a new stack): a parameter that is not given keeps
    its previous value when both the old and the new template have it; a new one takes its default.
    """
    declared = template.parameters
    previous = set(existing) if existing is not None else set()
    problems = []
    unknown = sorted(set(given) - set(declared))
    if unknown:
        problems.append(
            f"unknown parameter(s) {', '.join(unknown)}; the template declares {', '.join(declared)}"
        )
    out: list[dict[str, Any]] = []
    for name, spec in declared.items():
        value = given.get(name)
        if name in given and value is not None:
            problems += check_value(name, value, spec)
            out.append({"ParameterKey": name, "ParameterValue": value})
        elif name in previous:
            out.append({"ParameterKey": name, "UsePreviousValue": True})
        elif name in given:
            problems.append(f"{name}: UsePreviousValue given, but the deployed stack has no such parameter")
        elif "Default" not in spec:
            problems.append(
                f"{name}: required (the template gives no Default); pass --parameter-overrides {name}=..."
            )
    if problems:
        raise BadInput("parameters rejected: " + "; ".join(problems))
    return out


def check_value(name: str, value: str, spec: Mapping[str, Any]) -> list[str]:
    """Every constraint the template declares for one parameter; returns the violations."""
    ptype = str(spec.get("Type", "String"))
    is_list = ptype.startswith("List<") or ptype == "CommaDelimitedList"
    items = [v.strip() for v in value.split(",")] if is_list else [value]
    problems = []
    explain = f" ({spec['ConstraintDescription']})" if spec.get("ConstraintDescription") else ""
    for item in items:
        problems += _check_one(name, item, ptype, spec)
    if not is_list:
        problems += _check_length(name, value, spec)
    return [p + explain for p in problems]


def _check_one(name: str, item: str, ptype: str, spec: Mapping[str, Any]) -> list[str]:
    problems = []
    allowed = spec.get("AllowedValues")
    if allowed is not None and item not in [str(a) for a in allowed]:
        problems.append(f"{name}={item!r} is not one of {[str(a) for a in allowed]}")
    pattern = spec.get("AllowedPattern")
    # CloudFormation matches AllowedPattern against the whole value (Java String.matches).
    if pattern is not None and re.fullmatch(str(pattern), item) is None:
        problems.append(f"{name}={item!r} does not match {pattern}")
    if ptype in {"Number", "List<Number>"}:
        try:
            number = float(item)
        except ValueError:
            return [*problems, f"{name}={item!r} is not a number"]
        if not math.isfinite(number):
            problems.append(f"{name}={item!r} is not a finite number")
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"{name}={item} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"{name}={item} is above MaxValue {spec['MaxValue']}")
    return problems


def _check_length(name: str, value: str, spec: Mapping[str, Any]) -> list[str]:
    problems = []
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"{name} is {len(value)} characters; MinLength is {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"{name} is {len(value)} characters; MaxLength is {spec['MaxLength']}")
    return problems


# ---- capabilities ---------------------------------------------------------------------------------------------


def required_capabilities(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """Capability -> the logical ids (or 'Transform') that need it."""
    needs: dict[str, list[str]] = {}
    resources = doc.get("Resources") or {}
    for logical_id, resource in resources.items():
        rtype = resource.get("Type", "") if isinstance(resource, Mapping) else ""
        props = resource.get("Properties") or {} if isinstance(resource, Mapping) else {}
        if rtype in IAM_TYPES:
            named = IAM_NAME_PROPERTIES.get(rtype) in props
            needs.setdefault("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM", []).append(logical_id)
    if doc.get("Transform") or _has_fn_transform(doc):
        needs.setdefault("CAPABILITY_AUTO_EXPAND", []).append("Transform")
    return needs


def _has_fn_transform(node: Any) -> bool:
    if isinstance(node, Mapping):
        return "Fn::Transform" in node or any(_has_fn_transform(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_fn_transform(v) for v in node)
    return False


def check_capabilities(doc: Mapping[str, Any], given: Iterable[str]) -> list[str]:
    """The capabilities to send; raises BadInput naming what is missing and why it is needed."""
    acknowledged = set(given)
    bad = sorted(acknowledged - set(CAPABILITIES))
    if bad:
        raise BadInput(f"unknown capabilities {bad}; valid: {', '.join(CAPABILITIES)}")
    missing = []
    for capability, ids in sorted(required_capabilities(doc).items()):
        # CAPABILITY_NAMED_IAM acknowledges unnamed IAM resources too.
        if capability == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in acknowledged:
            continue
        if capability not in acknowledged:
            missing.append(f"{capability} (needed by {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
    if missing:
        wanted = sorted(acknowledged | {m.split()[0] for m in missing})
        raise BadInput(
            "the template needs capabilities that were not acknowledged: " + "; ".join(missing),
            hint=f"add --capabilities {' '.join(wanted)} after reviewing what the template creates",
        )
    return sorted(acknowledged)

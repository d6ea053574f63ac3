"""A parameter value against its template's constraints, as CloudFormation checks it when a change set is made.

One implementation for generate.py's example files and deploy.py's offline check. From the CloudFormation
parameters reference: MinLength/MaxLength apply to String parameters only; AllowedPattern to String (the whole
value) and CommaDelimitedList (each item) only, and is a Java regular expression; AllowedValues to each item of
a list; MinValue/MaxValue to Number and each item of List<Number>. A value is compared with AllowedValues as the
string it is: "90.0" is not "90" (the string is what every Ref to the parameter passes on), so a number is
accepted only in the spelling the template lists.

Also here: the example files' placeholder values, which must never be deployed,
and the Auto Scaling size relations (MinSize <= DesiredCapacity <= MaxSize) that Rules cannot express because
they cannot compare numbers.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

NUMBER_TYPES = frozenset({"Number", "List<Number>"})
# Example files mark a value the user must replace with this text inside the value. The example check lists such
# a value instead of checking it, so a template's pattern may refuse it (CertificateArn's does).
PLACEHOLDER_MARK = "REPLACE-WITH-"
# A message quotes at most this much of an AllowedPattern (VpcCidr's is over 1,000 characters): the
# ConstraintDescription it follows is what a user acts on.
PATTERN_SHOWN = 80

# Java's POSIX character classes (\p{Alpha} ...) and their US-ASCII members, which Python's re lacks.
_JAVA_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}


def is_list_type(ptype: str) -> bool:
    return ptype.startswith("List<") or ptype == "CommaDelimitedList"


def _java_class(name: str, negated: bool, in_class: bool) -> str | None:
    body = _JAVA_CLASSES.get(name.removeprefix("Is"))
    if body is None or (negated and in_class):
        return None
    if in_class:
        return body
    return f"[{'^' if negated else ''}{body}]"


@lru_cache(maxsize=256)
def python_pattern(java: str) -> re.Pattern[str] | None:
    """The Java regex as a compiled Python pattern, or None when it uses what Python reads differently.

    Translates \\p{Alpha}-style classes (and their \\P negations), \\z and \\h; Python 3.11 already reads
    possessive quantifiers and atomic groups. Class unions and intersections ([a[b]], [a&&b]) mean something
    else in Python, so such a pattern is left to CloudFormation rather than checked wrongly.
    """
    out: list[str] = []
    in_class = False
    class_start = -1
    i = 0
    while i < len(java):
        char = java[i]
        if char == "\\" and i + 1 < len(java):
            nxt = java[i + 1]
            if nxt in "pP" and java.startswith("{", i + 2):
                end = java.find("}", i + 3)
                translated = _java_class(java[i + 3 : end], nxt == "P", in_class) if end > 0 else None
                if translated is None:
                    return None
                out.append(translated)
                i = end + 1
                continue
            out.append(
                {"z": "\\Z", "h": " \\t\\xa0" if in_class else "[ \\t\\xa0]"}.get(nxt, java[i : i + 2])
            )
            i += 2
            continue
        if in_class and (char == "[" or java.startswith("&&", i)):
            return None
        if char == "[" and not in_class:
            in_class = True
            # A "]" first in the class (after an optional "^") is a literal, in Java as in Python.
            class_start = i + 2 if java.startswith("^", i + 1) else i + 1
        elif char == "]" and in_class and i != class_start:
            in_class = False
        out.append(char)
        i += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return None


def _as_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _allowed_problem(item: str, allowed: list[Any], ptype: str) -> str | None:
    listed = [str(a) for a in allowed]
    if item in listed:
        return None
    message = f"is not one of the AllowedValues [{', '.join(listed)}]"
    number = _as_number(item) if ptype in NUMBER_TYPES else None
    same = [a for a in listed if number is not None and _as_number(a) == number]
    if same:
        return f"{message}; write it as {same[0]!r}"
    # A spelling suggestion helps with names (t3.smal); for numbers a near spelling is a different amount.
    close = difflib.get_close_matches(item, listed, n=1) if _as_number(item) is None else []
    return f"{message}; did you mean {close[0]!r}?" if close else message


def _number_problems(item: str, spec: Mapping[str, Any]) -> list[str]:
    number = _as_number(item)
    if number is None:
        return ["is not a number"]
    problems = []
    if "MinValue" in spec and number < float(spec["MinValue"]):
        problems.append(f"is less than MinValue {spec['MinValue']}")
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        problems.append(f"is greater than MaxValue {spec['MaxValue']}")
    return problems


def _length_problems(value: str, spec: Mapping[str, Any]) -> list[str]:
    problems = []
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"is shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"is longer than MaxLength {spec['MaxLength']}")
    return problems


def check_value(name: str, value: str, spec: Mapping[str, Any]) -> list[str]:
    """Every constraint of the parameter's spec the value breaks; empty when CloudFormation would accept it.

    One message per offending value (each item of a list), leading with the fix: the template's
    ConstraintDescription when it has one, then what the value breaks.
    """
    ptype = str(spec.get("Type", "String"))
    items = [item.strip() for item in value.split(",")] if is_list_type(ptype) else [value]
    broken: dict[str, list[str]] = {}
    if ptype == "String":
        broken.setdefault(value, []).extend(_length_problems(value, spec))
    if "AllowedPattern" in spec and ptype in ("String", "CommaDelimitedList"):
        pattern = python_pattern(str(spec["AllowedPattern"]))
        # An unreadable pattern is left to CloudFormation rather than used to reject a valid value.
        for item in items:
            if pattern is not None and pattern.fullmatch(item) is None:
                broken.setdefault(item, []).append(
                    f"does not match AllowedPattern {_shown(spec['AllowedPattern'])}"
                )
    for item in items:
        if spec.get("AllowedValues") is not None:
            found = _allowed_problem(item, list(spec["AllowedValues"]), ptype)
            broken.setdefault(item, []).extend([found] if found else [])
        if ptype in NUMBER_TYPES:
            broken.setdefault(item, []).extend(_number_problems(item, spec))
    fix = str(spec.get("ConstraintDescription") or "").rstrip(".")
    return [
        f"{name}={item!r}: {fix}; {'; '.join(details)}" if fix else f"{name}={item!r} {'; '.join(details)}"
        for item, details in broken.items()
        if details
    ]


def _shown(pattern: Any, limit: int = PATTERN_SHOWN) -> str:
    """A pattern as a message quotes it: whole when short, else its start (the template holds all of it)."""
    text = str(pattern)
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit - 3]!r}... ({len(text):,} characters, shortened)"


# ---- example placeholders -------------------------------------------------------------------------------------


def placeholders(values: Mapping[str, str | None]) -> list[str]:
    """Names of the parameters whose value is still an example file's placeholder."""
    return [name for name, value in values.items() if value is not None and PLACEHOLDER_MARK in value]


def placeholder_problems(template: Mapping[str, Any], values: Mapping[str, str | None]) -> list[str]:
    """A message per placeholder value, saying what to put there (from the parameter's own description)."""
    specs = template.get("Parameters") or {}
    problems = []
    for name in placeholders(values):
        what = str(specs.get(name, {}).get("Description", "")).split(". ")[0].rstrip(".")
        problems.append(
            f"{name}={values[name]!r} is the example file's placeholder, not a real value: put your real "
            f"{name} in its place{f' ({what})' if what else ''}"
        )
    return problems


# ---- Auto Scaling group sizes ---------------------------------------------------------------------------------

SIZE_PROPERTIES = ("MinSize", "DesiredCapacity", "MaxSize")


IN_SERVICE = "MinInstancesInService"


def _size_sources(resource: Mapping[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    """Size property -> (parameter it references, literal value), for the literal or Ref forms; also the
    rolling update's MinInstancesInService."""
    props = dict(resource.get("Properties") or {})
    rolling = (resource.get("UpdatePolicy") or {}).get("AutoScalingRollingUpdate") or {}
    if isinstance(rolling, Mapping) and IN_SERVICE in rolling:
        props[IN_SERVICE] = rolling[IN_SERVICE]
    sources: dict[str, tuple[str | None, str | None]] = {}
    for prop in (*SIZE_PROPERTIES, IN_SERVICE):
        raw = props.get(prop)
        if isinstance(raw, Mapping) and isinstance(raw.get("Ref"), str) and len(raw) == 1:
            sources[prop] = (str(raw["Ref"]), None)
        elif isinstance(raw, str | int) and not isinstance(raw, bool):
            sources[prop] = (None, str(raw))
    return sources


def group_size_problems(template: Mapping[str, Any], values: Mapping[str, str | None]) -> list[str]:
    """MinSize > MaxSize, DesiredCapacity outside [MinSize, MaxSize], or a rolling update's
    MinInstancesInService not below MaxSize, for every Auto Scaling group.

    The last is CloudFormation's (UpdatePolicy attribute, AutoScalingRollingUpdate: MinInstancesInService "must
    be less than the MaxSize of the Auto Scaling group"); the template's Rules refuse the same pairs.

    Driven by the groups' own properties: whichever parameters (or literals) feed them. Values that are not
    known (not given, or kept from the deployed stack) or not numbers are skipped: their own check reports them.
    """
    problems: list[str] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::AutoScaling::AutoScalingGroup":
            continue
        known: dict[str, tuple[str, float]] = {}
        for prop, (parameter, literal) in _size_sources(resource).items():
            text = values.get(parameter) if parameter else literal
            number = _as_number(text) if text is not None else None
            if number is not None:
                known[prop] = (f"{parameter}={text}" if parameter else f"{prop} {text}", number)
        low, high, desired = known.get("MinSize"), known.get("MaxSize"), known.get("DesiredCapacity")
        in_service = known.get(IN_SERVICE)
        if low and high and low[1] > high[1]:
            problems.append(
                f"{low[0]} is greater than {high[0]}: Auto Scaling rejects group {logical_id} with a minimum "
                "above its maximum; lower the minimum or raise the maximum"
            )
        elif desired and ((low and desired[1] < low[1]) or (high and desired[1] > high[1])):
            bounds = f"[{low[0] if low else 'MinSize'}, {high[0] if high else 'MaxSize'}]"
            problems.append(
                f"{desired[0]} is outside {bounds}: Auto Scaling rejects group {logical_id} when the desired "
                "capacity is not between its minimum and maximum; choose a value in that range"
            )
        elif in_service and high and in_service[1] >= high[1]:
            problems.append(
                f"{in_service[0]} is not less than {high[0]}: a rolling update of group {logical_id} keeps "
                f"{IN_SERVICE} in service and starts one more, so CloudFormation requires {IN_SERVICE} below "
                "MaxSize; raise the maximum or lower the minimum"
            )
    return problems

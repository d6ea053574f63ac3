"""The deployment manifest: a TOML file of stacks, read with tomllib and checked whole before any AWS call.

Every problem is a BadInput naming the file and line (`stacks.toml:12: ...`), so nothing is deployed from a file
that has a mistake anywhere in it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from deployer.capabilities import check_capabilities
from deployer.errors import BadInput, DeployError
from deployer.fleet.lines import LineFinder
from deployer.fleet.plan import find_cycle
from deployer.inputs import (
    INLINE_TEMPLATE_LIMIT,
    Template,
    check_given_parameters,
    load_parameter_file,
    load_template,
    validate_tags,
)
from deployer.regions import known_regions
from deployer.upload import needs_upload

TOP_KEYS = frozenset({"settings", "defaults", "stacks"})
SETTINGS_KEYS = frozenset({"max_parallel", "calls_per_second", "burst"})
CREDENTIAL_KEYS = frozenset({"profile", "role_arn", "external_id", "account"})
SHARED_KEYS = CREDENTIAL_KEYS | {"region", "tags", "capabilities", "preflight", "s3_bucket", "s3_prefix"}
STACK_KEYS = SHARED_KEYS | {"stack_name", "template", "parameters_file", "parameters", "depends_on"}
INPUT_KEYS = frozenset({"from", "output"})
STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/.+")
ACCOUNT = re.compile(r"\d{12}")
# CloudFormation's documented API limits are per account and region; these defaults stay well under them.
DEFAULT_CALLS_PER_SECOND = 4.0
DEFAULT_BURST = 8


@dataclass(frozen=True)
class OutputRef:
    """A parameter whose value is an output of another stack of the manifest."""

    stack: str
    output: str


@dataclass(frozen=True)
class Credentials:
    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None

    @property
    def role_account(self) -> str | None:
        match = ROLE_ARN.fullmatch(self.role_arn or "")
        return match.group(1) if match else None


@dataclass(frozen=True)
class StackEntry:
    key: str  # the table name in the manifest; unique even when two regions share a stack name
    stack_name: str
    region: str
    credentials: Credentials
    template: Template
    parameters: dict[str, str | None]
    inputs: dict[str, OutputRef]
    tags: dict[str, str]
    capabilities: list[str]
    depends_on: tuple[str, ...]  # explicit ones and those implied by inputs
    preflight: bool
    line: int
    account: str | None = None  # known without a call (given, or the role's account); else asked of STS
    # Where a template over the 51,200-byte inline limit is uploaded (passed as TemplateURL), as --s3-bucket does.
    s3_bucket: str | None = None
    s3_prefix: str | None = None


@dataclass(frozen=True)
class Settings:
    max_parallel: int | None = None
    calls_per_second: float = DEFAULT_CALLS_PER_SECOND
    burst: int = DEFAULT_BURST


@dataclass(frozen=True)
class Manifest:
    path: Path
    stacks: dict[str, StackEntry]  # in file order
    settings: Settings = field(default_factory=Settings)


class ManifestError(BadInput):
    def __init__(self, path: Path, line: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}:{line}: {message}", hint=hint)
        self.line = line


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = LineFinder(text)

    def fail(
        self, where: tuple[str, ...], key: str | None, message: str, hint: str | None = None
    ) -> NoReturn:
        raise ManifestError(self.path, self.lines.key(where, key), message, hint=hint)

    def table(self, data: Any, where: tuple[str, ...], allowed: frozenset[str]) -> dict[str, Any]:
        name = ".".join(where)
        if not isinstance(data, Mapping):
            self.fail(where[:-1], where[-1], f"{name} must be a table")
        for key in data:
            if key not in allowed:
                self.fail(
                    where, key, f"{name}: unknown key {key!r}", f"known keys: {', '.join(sorted(allowed))}"
                )
        return dict(data)

    def string(self, data: Mapping[str, Any], where: tuple[str, ...], key: str) -> str | None:
        value = data.get(key)
        if value is not None and not (isinstance(value, str) and value):
            self.fail(where, key, f"{'.'.join(where)}.{key} must be a non-empty string")
        return value

    def strings(self, data: Mapping[str, Any], where: tuple[str, ...], key: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(where, key, f"{'.'.join(where)}.{key} must be a list of strings")
        return list(value)

    def string_table(self, data: Mapping[str, Any], where: tuple[str, ...], key: str) -> dict[str, str]:
        value = data.get(key, {})
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            self.fail(where, key, f"{'.'.join(where)}.{key} must be a table of strings")
        return dict(value)


def load_manifest(path: Path) -> Manifest:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise BadInput(f"cannot read manifest {path}: {err.strerror or err}") from err
    reader = _Reader(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"at line (\d+)", str(err))
        line = int(found.group(1)) if found else reader.lines.last
        raise ManifestError(path, line, f"not valid TOML: {str(err).split(' (at')[0]}") from err
    top = reader.table(data, (), TOP_KEYS)
    settings = _settings(reader, top.get("settings", {}))
    defaults = reader.table(top.get("defaults", {}), ("defaults",), SHARED_KEYS)
    stacks_data = top.get("stacks")
    if not isinstance(stacks_data, Mapping) or not stacks_data:
        raise ManifestError(path, 1, "no stacks: add at least one [stacks.NAME] table")
    stacks = {key: _stack(reader, key, value, defaults) for key, value in stacks_data.items()}
    _check_links(reader, stacks)
    _check_unique(reader, stacks)
    return Manifest(path=path, stacks=stacks, settings=settings)


def _settings(reader: _Reader, data: Any) -> Settings:
    table = reader.table(data, ("settings",), SETTINGS_KEYS)
    max_parallel = table.get("max_parallel")
    if max_parallel is not None and (not isinstance(max_parallel, int) or max_parallel < 1):
        reader.fail(("settings",), "max_parallel", "settings.max_parallel must be a whole number >= 1")
    rate = table.get("calls_per_second", DEFAULT_CALLS_PER_SECOND)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0:
        reader.fail(("settings",), "calls_per_second", "settings.calls_per_second must be a number > 0")
    burst = table.get("burst", DEFAULT_BURST)
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        reader.fail(("settings",), "burst", "settings.burst must be a whole number >= 1")
    return Settings(max_parallel, float(rate), burst)


def _stack(reader: _Reader, key: str, data: Any, defaults: Mapping[str, Any]) -> StackEntry:
    where = ("stacks", key)
    table = reader.table(data, where, STACK_KEYS)
    merged = {**defaults, **table}
    line = reader.lines.key(where)
    base = reader.path.parent

    def fail(field_name: str | None, message: str, hint: str | None = None) -> NoReturn:
        # A value inherited from [defaults] is reported where it is written.
        at = where if field_name is None or field_name in table else ("defaults",)
        reader.fail(at, field_name, message, hint)

    stack_name = reader.string(merged, where, "stack_name") or key
    if not STACK_NAME.fullmatch(stack_name):
        fail(
            "stack_name" if "stack_name" in table else None,
            f"stack name {stack_name!r}: start with a letter; letters, digits and '-', 128 at most",
            'set stack_name = "..." for this stack',
        )
    region = reader.string(merged, where, "region")
    if region is None:
        fail(None, f"stacks.{key}: no region", 'set region = "eu-west-1" here or in [defaults]')
    elif region not in known_regions():
        fail("region", f"stacks.{key}: unknown region {region!r}", "use a region code such as eu-west-1")
    credentials = _credentials(reader, merged, where, fail)
    account = reader.string(merged, where, "account") or credentials.role_account
    if account is not None and not ACCOUNT.fullmatch(account):
        fail("account", f"stacks.{key}: account {account!r} is not a 12-digit account id")
    if credentials.role_account and account != credentials.role_account:
        fail("account", f"stacks.{key}: account {account} differs from the account of role_arn")
    template_path = reader.string(table, where, "template")
    if template_path is None:
        fail(
            None,
            f"stacks.{key}: no template",
            'set template = "output/stack.json" (relative to the manifest)',
        )
    template = _load(reader, where, "template", lambda: load_template(base / str(template_path)))
    s3_bucket = reader.string(merged, where, "s3_bucket")
    s3_prefix = reader.string(merged, where, "s3_prefix")
    if s3_prefix and not s3_bucket:
        fail("s3_prefix", f"stacks.{key}: s3_prefix without s3_bucket", 'set s3_bucket = "..." as well')
    if needs_upload(template.body) and not s3_bucket:
        fail(
            "template",
            f"stacks.{key}: template {template_path} is {template.size:,} bytes, over the "
            f"{INLINE_TEMPLATE_LIMIT:,}-byte inline limit, and no s3_bucket is set",
            'set s3_bucket = "BUCKET" (and s3_prefix) here or in [defaults]: the template is uploaded there and '
            "passed as TemplateURL",
        )
    parameters, inputs = _parameters(reader, where, table, base)
    tags = reader.string_table(merged, where, "tags")
    _load(reader, where, "tags", lambda: validate_tags(tags))
    given = reader.strings(merged, where, "capabilities")
    capabilities = _load(reader, where, "capabilities", lambda: check_capabilities(template.doc, given))
    _load(reader, where, "parameters", lambda: check_given_parameters(template, parameters))
    for name in inputs:
        if name not in template.parameters:
            fail("parameters", f"stacks.{key}: parameter {name} is not declared in {template.path}")
    preflight = merged.get("preflight", True)
    if not isinstance(preflight, bool):
        fail("preflight", f"stacks.{key}.preflight must be true or false")
    depends_on = reader.strings(table, where, "depends_on")
    implied = [ref.stack for ref in inputs.values()]
    return StackEntry(
        key=key,
        stack_name=stack_name,
        region=str(region),
        credentials=credentials,
        template=template,
        parameters=parameters,
        inputs=inputs,
        tags=tags,
        capabilities=capabilities,
        depends_on=tuple(dict.fromkeys([*depends_on, *implied])),
        preflight=bool(preflight),
        line=line,
        account=account,
        s3_bucket=s3_bucket,
        s3_prefix=s3_prefix,
    )


def _credentials(
    reader: _Reader, merged: Mapping[str, Any], where: tuple[str, ...], fail: Any
) -> Credentials:
    credentials = Credentials(
        profile=reader.string(merged, where, "profile"),
        role_arn=reader.string(merged, where, "role_arn"),
        external_id=reader.string(merged, where, "external_id"),
    )
    if credentials.role_arn and not credentials.role_account:
        fail(
            "role_arn",
            f"{where[-1]}: role_arn {credentials.role_arn!r} is not an IAM role ARN",
            "give the full ARN, like arn:aws:iam::123456789012:role/NAME",
        )
    if credentials.external_id and not credentials.role_arn:
        fail("external_id", f"{where[-1]}: external_id without role_arn", "set the role_arn to assume")
    return credentials


def _load(reader: _Reader, where: tuple[str, ...], key: str, load: Any) -> Any:
    """Run one of the single-stack checks, reporting its error at the manifest line that fed it."""
    try:
        return load()
    except DeployError as err:
        reader.fail(where, key, f"{'.'.join(where)}: {err.message}", err.hint)


def _parameters(
    reader: _Reader, where: tuple[str, ...], table: Mapping[str, Any], base: Path
) -> tuple[dict[str, str | None], dict[str, OutputRef]]:
    literal: dict[str, str | None] = {}
    file_name = reader.string(table, where, "parameters_file")
    if file_name:
        from_file = _load(reader, where, "parameters_file", lambda: load_parameter_file(base / file_name))
        literal.update(from_file.parameters)
    inputs: dict[str, OutputRef] = {}
    given = table.get("parameters", {})
    if not isinstance(given, Mapping):
        reader.fail(where, "parameters", f"{'.'.join(where)}.parameters must be a table")
    for name, value in given.items():
        if isinstance(value, str):
            literal[name] = value
            inputs.pop(name, None)
            continue
        at = (*where, "parameters")
        if not isinstance(value, Mapping):
            reader.fail(
                at, name, f'{".".join(at)}.{name} must be a string or {{ from = "STACK", output = "KEY" }}'
            )
        unknown = set(value) - INPUT_KEYS
        if unknown or not all(isinstance(value.get(k), str) and value.get(k) for k in INPUT_KEYS):
            reader.fail(
                at,
                name,
                f'{".".join(at)}.{name}: write {{ from = "STACK", output = "KEY" }}',
                f"unknown or missing keys: {', '.join(sorted(unknown or INPUT_KEYS))}",
            )
        inputs[name] = OutputRef(stack=value["from"], output=value["output"])
        literal.pop(name, None)
    return literal, inputs


def _check_links(reader: _Reader, stacks: Mapping[str, StackEntry]) -> None:
    for entry in stacks.values():
        where = ("stacks", entry.key)
        for dep in entry.depends_on:
            if dep not in stacks:
                reader.fail(
                    where,
                    _field_naming(entry, dep),
                    f"stacks.{entry.key} depends on unknown stack {dep!r}",
                    f"stacks in this manifest: {', '.join(stacks)}",
                )
            if dep == entry.key:
                reader.fail(where, _field_naming(entry, dep), f"stacks.{entry.key} depends on itself")
        for name, ref in entry.inputs.items():
            declared = stacks[ref.stack].template.doc.get("Outputs") or {}
            if ref.output not in declared:
                reader.fail(
                    (*where, "parameters"),
                    name,
                    f"stacks.{entry.key}.parameters.{name}: stack {ref.stack} has no output {ref.output!r}",
                    f"its template declares: {', '.join(sorted(declared)) or 'no outputs'}",
                )

    cycle = find_cycle({key: entry.depends_on for key, entry in stacks.items()})
    if cycle:
        first = stacks[cycle[0]]
        reader.fail(
            ("stacks", first.key),
            None,
            f"dependency cycle: {' -> '.join([*cycle, cycle[0]])}",
            "remove one of these dependencies (depends_on or a { from = ... } parameter)",
        )


def _field_naming(entry: StackEntry, dep: str) -> str:
    return "parameters" if any(ref.stack == dep for ref in entry.inputs.values()) else "depends_on"


def _check_unique(reader: _Reader, stacks: Mapping[str, StackEntry]) -> None:
    """One stack name in one region is one stack unless both entries name different accounts: a profile says
    nothing certain about its account before STS is asked, and an entry without an account may be in the other's."""
    seen: dict[tuple[str, str], list[StackEntry]] = {}
    for entry in stacks.values():
        earlier = seen.setdefault((entry.stack_name, entry.region), [])
        for other in earlier:
            if not (entry.account and other.account and entry.account != other.account):
                same = (
                    f"account {entry.account}"
                    if entry.account and entry.account == other.account
                    else "not both name an account"
                )
                reader.fail(
                    ("stacks", entry.key),
                    None,
                    f"stacks.{entry.key} and stacks.{other.key} are the same stack "
                    f"({entry.stack_name} in {entry.region}, {same})",
                    "give one of them another stack_name, or set account (or role_arn) on both when they are "
                    "different accounts",
                )
        earlier.append(entry)

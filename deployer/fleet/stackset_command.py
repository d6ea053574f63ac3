"""`deploy.py stackset deploy|plan|status|delete`: a template rolled out through CloudFormation StackSets."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cfnspec.limits import DEFAULT_REGION
from deployer.capabilities import check_capabilities
from deployer.clients import ClientFactory, ClientSettings, aws_call
from deployer.errors import BadInput, ExitCode, StackFailed
from deployer.fleet import stacksets as ss
from deployer.fleet.command import add_connection
from deployer.inputs import check_given_parameters, load_parameter_file, load_template, parse_key_values
from deployer.regions import check_region, known_regions
from deployer.waiting import Pacer

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

ACTIONS = ("deploy", "plan", "status", "delete")
OVERRIDE = re.compile(r"(\d{12}|[a-z]{2}(?:-[a-z]+)+-\d):(.+)")
Say = Callable[[str], None]


def run_stackset_command(
    args: argparse.Namespace,
    stdout: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    make_factory: Callable[[ClientSettings], Any] = ClientFactory,
) -> int:
    def say(text: str) -> None:
        print(text, file=stdout, flush=True)

    # No error handling here: a bad input, an AWS error or a signal ends in deploy.py's one error path (deployer.cli).
    check_region(args.region)
    spec = build_spec(args) if args.action in {"deploy", "plan"} else None
    if args.action == "delete" and not args.yes:
        raise BadInput("refusing to delete a stack set without --yes; nothing was deleted")
    settings = ClientSettings(
        args.region, args.profile, args.endpoint_url, args.retry_mode, args.max_attempts
    )
    cfn = make_factory(settings).cloudformation()
    pacer = Pacer(sleep, clock, args.timeout, args.poll_interval, args.max_poll_interval)
    pacer.resume_hint = (
        f"to see how it went: deploy.py stackset status --stack-set-name {args.stack_set_name}"
    )
    if spec is not None:
        return int(deploy(cfn, spec, pacer, say, review=args.action == "plan", retry=args.retry_failed))
    if args.action == "status":
        return int(status(cfn, args.stack_set_name, say))
    return int(delete(cfn, args.stack_set_name, pacer, say))


def build_spec(args: argparse.Namespace) -> ss.StackSetSpec:
    """Every check that needs no AWS call."""
    if not args.template_file:
        raise BadInput(f"stackset {args.action} needs --template-file")
    template = load_template(args.template_file)
    parameters = load_parameter_file(args.parameters_file).parameters if args.parameters_file else {}
    parameters = {**parameters, **parse_key_values(args.parameter_overrides, "parameter override")}
    check_given_parameters(template, parameters)
    if bool(args.accounts) == bool(args.organizational_units):
        raise BadInput(
            "give either --accounts (self-managed permissions) or --organizational-units (service-managed)"
        )
    bad = [r for r in [*args.deployment_regions, *args.region_order] if r not in known_regions()]
    if bad:
        raise BadInput(f"unknown region {', '.join(bad)}", hint="use region codes such as eu-west-1")
    if set(args.region_order) - set(args.deployment_regions):
        raise BadInput("--region-order may only name regions given with --deployment-regions")
    bad_accounts = [a for a in args.accounts if not re.fullmatch(r"\d{12}", a)]
    if bad_accounts:
        raise BadInput(f"--accounts: {', '.join(bad_accounts)} is not a 12-digit account id")
    overrides = [_override(text, template) for text in args.override]
    if args.organizational_units and any(o.is_account for o in overrides):
        raise BadInput(
            "per-account overrides need --accounts", hint="with organisational units, override per region"
        )
    return ss.StackSetSpec(
        name=args.stack_set_name,
        template_body=template.body,
        parameters={k: v for k, v in parameters.items() if v is not None},
        capabilities=check_capabilities(template.doc, args.capabilities),
        targets=ss.Targets(
            tuple(args.deployment_regions), tuple(args.accounts), tuple(args.organizational_units)
        ),
        preferences=ss.operation_preferences(
            args.region_order or args.deployment_regions,
            args.region_concurrency,
            args.max_concurrent_count,
            args.max_concurrent_percentage,
            args.failure_tolerance_count,
            args.failure_tolerance_percentage,
        ),
        overrides=overrides,
    )


def _override(text: str, template: Any) -> ss.Override:
    match = OVERRIDE.fullmatch(text)
    if not match:
        raise BadInput(
            f"--override {text!r} is not TARGET:Key=Value",
            hint="e.g. 111122223333:Env=prod or eu-west-1:Size=2",
        )
    values = parse_key_values(match.group(2).split(","), "override")
    check_given_parameters(template, dict(values))
    return ss.Override(match.group(1), values)


def deploy(
    cfn: CloudFormationClient, spec: ss.StackSetSpec, pacer: Pacer, say: Say, *, review: bool, retry: bool
) -> ExitCode:
    existing = ss.describe_stack_set(cfn, spec.name)
    changes = ss.stack_set_changes(spec, existing)
    instances = ss.list_instances(cfn, spec.name) if existing else []
    missing = ss.missing_instances(spec.targets, instances) if not spec.targets.service_managed else {}
    for line in changes:
        say(f"Stack set {spec.name}: {line}")
    for region, accounts in missing.items():
        say(f"Stack set {spec.name}: add instances in {region} for {', '.join(accounts)}")
    if spec.targets.service_managed:
        say(
            f"Stack set {spec.name}: deploy to OUs {', '.join(spec.targets.organizational_units)} in {', '.join(spec.targets.regions)}"
        )
    for override in spec.overrides:
        say(f"Stack set {spec.name}: override {dict(override.values)} for {override.target}")
    if review:
        pending = changes or missing or spec.targets.service_managed or spec.overrides
        say("Review mode: nothing was changed.")
        return ExitCode.CHANGES_PRESENT if pending else ExitCode.SUCCESS
    results = []
    if existing is None:
        _create(cfn, spec)
    elif changes:
        with aws_call(f"updating stack set {spec.name}"):
            answer = cfn.update_stack_set(**_body(spec), OperationPreferences=_prefs(spec))
        results.append(ss.wait_for_operation(cfn, spec.name, answer["OperationId"], pacer, say))
    for kwargs in _instance_batches(spec, missing, created=existing is None):
        with aws_call(f"creating instances of stack set {spec.name}"):
            answer = cfn.create_stack_instances(
                StackSetName=spec.name, OperationPreferences=_prefs(spec), **kwargs
            )
        results.append(ss.wait_for_operation(cfn, spec.name, answer["OperationId"], pacer, say))
    for override in spec.overrides:
        results.append(_apply_override(cfn, spec, override, pacer, say))
    instances = ss.list_instances(cfn, spec.name)
    failed = ss.failed_instances(instances)
    if failed and retry:
        say(f"Retrying {len(failed)} failed instance(s)")
        with aws_call(f"retrying instances of stack set {spec.name}"):
            answer = cfn.update_stack_instances(
                StackSetName=spec.name,
                Accounts=sorted({i["Account"] for i in failed}),
                Regions=sorted({i["Region"] for i in failed}),
                OperationPreferences=_prefs(spec),
            )
        results.append(ss.wait_for_operation(cfn, spec.name, answer["OperationId"], pacer, say))
        instances = ss.list_instances(cfn, spec.name)
        failed = ss.failed_instances(instances)
    for line in ss.instance_lines(instances):
        say(line)
    if failed or any(r != "SUCCEEDED" for r in results):
        raise StackFailed(
            f"stack set {spec.name}: {len(failed)} instance(s) failed",
            hint="the reasons are printed above; fix them, then run again with --retry-failed",
        )
    return ExitCode.SUCCESS


def _body(spec: ss.StackSetSpec) -> dict[str, Any]:
    return {
        "StackSetName": spec.name,
        "TemplateBody": spec.template_body,
        "Parameters": ss.api_parameters(spec.parameters),
        "Capabilities": list(spec.capabilities),
    }


def _create(cfn: CloudFormationClient, spec: ss.StackSetSpec) -> None:
    kwargs = _body(spec)
    if spec.targets.service_managed:
        kwargs["PermissionModel"] = "SERVICE_MANAGED"
        kwargs["AutoDeployment"] = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    else:
        kwargs["PermissionModel"] = "SELF_MANAGED"
    with aws_call(f"creating stack set {spec.name}"):
        cfn.create_stack_set(**kwargs)


def _instance_batches(
    spec: ss.StackSetSpec, missing: dict[str, list[str]], *, created: bool
) -> list[dict[str, Any]]:
    if spec.targets.service_managed:
        return [spec.targets.api()]
    if created:
        return [spec.targets.api()]
    # One call per distinct set of missing accounts: CreateStackInstances makes every account x region pair.
    by_accounts: dict[tuple[str, ...], list[str]] = {}
    for region, accounts in missing.items():
        by_accounts.setdefault(tuple(accounts), []).append(region)
    return [spec.targets.api(regions, list(accounts)) for accounts, regions in by_accounts.items()]


def _apply_override(
    cfn: CloudFormationClient, spec: ss.StackSetSpec, override: ss.Override, pacer: Pacer, say: Say
) -> str:
    if override.is_account:
        target = spec.targets.api(accounts=[override.target])
    else:
        target = spec.targets.api(regions=[override.target])
    with aws_call(f"overriding parameters of stack set {spec.name} for {override.target}"):
        answer = cfn.update_stack_instances(
            StackSetName=spec.name,
            ParameterOverrides=ss.api_parameters(override.values),
            OperationPreferences=_prefs(spec),
            **target,
        )
    return ss.wait_for_operation(cfn, spec.name, answer["OperationId"], pacer, say)


def status(cfn: CloudFormationClient, name: str, say: Say) -> ExitCode:
    existing = ss.describe_stack_set(cfn, name)
    if existing is None:
        raise BadInput(f"stack set {name} does not exist (in this region/account)")
    say(f"Stack set: {name} ({existing.get('PermissionModel', '?')}), {existing.get('Status')}")
    for line in ss.instance_lines(ss.list_instances(cfn, name)):
        say(line)
    return ExitCode.SUCCESS


def delete(cfn: CloudFormationClient, name: str, pacer: Pacer, say: Say) -> ExitCode:
    existing = ss.describe_stack_set(cfn, name)
    if existing is None:
        say(f"Stack set {name} does not exist: nothing to delete")
        return ExitCode.SUCCESS
    instances = ss.list_instances(cfn, name)
    by_region: dict[str, list[str]] = {}
    for instance in instances:
        by_region.setdefault(instance["Region"], []).append(instance["Account"])
    for region, accounts in sorted(by_region.items()):
        with aws_call(f"deleting instances of stack set {name} in {region}"):
            answer = cfn.delete_stack_instances(
                StackSetName=name, Accounts=sorted(set(accounts)), Regions=[region], RetainStacks=False
            )
        if ss.wait_for_operation(cfn, name, answer["OperationId"], pacer, say) != "SUCCEEDED":
            raise StackFailed(
                f"stack set {name}: deleting the instances in {region} failed",
                hint="the reasons are printed above",
            )
    with aws_call(f"deleting stack set {name}"):
        cfn.delete_stack_set(StackSetName=name)
    say(f"Stack set {name} deleted ({len(instances)} instance(s) removed)")
    return ExitCode.SUCCESS


def add_stackset_parser(sub: Any, epilog: str) -> None:
    help_text = (
        "one template to many accounts and regions through CloudFormation StackSets (AWS runs the roll-out): "
        "deploy, plan (what would change; exit 8), status (each instance's status and reason), delete"
    )
    p = sub.add_parser(
        "stackset",
        help=help_text,
        description=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=ACTIONS, help="deploy | plan | status | delete")
    p.add_argument("--stack-set-name", required=True, help="the stack set to act on")
    p.add_argument(
        "--region", default=DEFAULT_REGION, help=f"the stack set's home region (default {DEFAULT_REGION})"
    )
    p.add_argument(
        "--profile", help="named profile of the administrator (or delegated administrator) account"
    )
    p.add_argument("--template-file", type=Path, help="deploy/plan: the template (JSON or YAML)")
    p.add_argument(
        "--parameters-file", type=Path, help="deploy/plan: parameter values, any --parameters-file format"
    )
    p.add_argument(
        "--parameter-overrides", nargs="+", default=[], metavar="KEY=VALUE", help="parameter values"
    )
    p.add_argument(
        "--capabilities", nargs="+", default=[], metavar="CAPABILITY", help="e.g. CAPABILITY_NAMED_IAM"
    )
    targets = p.add_argument_group("targets")
    targets.add_argument(
        "--accounts", nargs="+", default=[], metavar="ACCOUNT", help="self-managed permissions: accounts"
    )
    targets.add_argument(
        "--organizational-units", nargs="+", default=[], metavar="OU", help="service-managed permissions: OUs"
    )
    targets.add_argument(
        "--deployment-regions", nargs="+", default=[], metavar="REGION", help="regions of the instances"
    )
    targets.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="TARGET:KEY=VALUE[,KEY=VALUE]",
        help="parameter values for one account (12 digits) or one region, e.g. eu-west-1:Size=2 (repeatable)",
    )
    prefs = p.add_argument_group("operation preferences")
    prefs.add_argument(
        "--region-order", nargs="+", default=[], metavar="REGION", help="the order regions go in"
    )
    prefs.add_argument(
        "--region-concurrency", choices=("sequential", "parallel"), help="one region at a time or all"
    )
    prefs.add_argument("--max-concurrent-count", type=int, help="accounts at once per region")
    prefs.add_argument(
        "--max-concurrent-percentage", type=int, help="accounts at once per region, in percent"
    )
    prefs.add_argument(
        "--failure-tolerance-count", type=int, help="failed accounts per region before it stops"
    )
    prefs.add_argument("--failure-tolerance-percentage", type=int, help="the same, in percent")
    p.add_argument(
        "--retry-failed", action="store_true", help="deploy: update the instances that failed once more"
    )
    p.add_argument(
        "--yes", action="store_true", help="delete: confirm deleting every instance and the stack set"
    )
    add_connection(p)


def _prefs(spec: ss.StackSetSpec) -> Any:
    # Any: boto3's TypedDict for the preferences; the values were checked by argparse and build_spec.
    return dict(spec.preferences)

"""Run every registered check (concurrently: they are independent and read-only) and order the findings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from deployer.preflight import online, region
from deployer.preflight.catalogue import order, runnable
from deployer.preflight.context import PreflightContext
from deployer.preflight.facts import StackFacts
from deployer.preflight.model import Report, ordered
from deployer.regions import partition_of

T = TypeVar("T")
MAX_THREADS = 8


def once(fn: Callable[[], T]) -> Callable[[], T]:
    """A value read from AWS at most once, by whichever check asks first (the others wait for it)."""
    lock = threading.Lock()
    box: list[T] = []

    def get() -> T:
        with lock:
            if not box:
                box.append(fn())
            return box[0]

    return get


def effective_parameters(
    template: Mapping[str, Any], given: Mapping[str, str | None], stack: Mapping[str, Any] | None
) -> dict[str, str]:
    """Each parameter's value as the change set will have it: given, else the deployed value, else the default."""
    previous = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters") or []}
    values = {}
    for name, spec in (template.get("Parameters") or {}).items():
        value = given.get(name)
        if value is None:
            value = previous.get(name, spec.get("Default"))
        if value is not None:
            values[name] = str(value)
    return values


def resolved_previous_values(
    stack: Mapping[str, Any] | None, given: Mapping[str, str | None]
) -> frozenset[str]:
    """Parameters kept from the deployed stack whose stored value is already a resolved one, not an SSM name.

    AWS reports an SSM-typed parameter as its name (ParameterValue) plus ResolvedValue; a stored value without
    ResolvedValue leaves no SSM name to look up again.
    """
    return frozenset(
        p["ParameterKey"]
        for p in (stack or {}).get("Parameters") or []
        if given.get(p["ParameterKey"]) is None and "ResolvedValue" not in p
    )


def make_context(
    make_client: Callable[[str], Any],
    template: Mapping[str, Any],
    given: Mapping[str, str | None],
    stack: Mapping[str, Any] | None,
    region_name: str,
) -> PreflightContext:
    partition = partition_of(region_name)
    facts = StackFacts(
        template=template,
        parameters=effective_parameters(template, given, stack),
        region=region_name,
        partition=partition,
        account_id=lambda: "",
        stack=stack,
        resolved_values=resolved_previous_values(stack, given),
    )
    ctx = PreflightContext(facts=facts, make_client=make_client)
    facts.account_id = once(lambda: str(ctx.client("sts").get_caller_identity()["Account"]))
    facts.availability_zones = once(lambda: region.available_zones(ctx))
    facts.stack_resources = once(lambda: _stack_resources(ctx))
    return ctx


def _stack_resources(ctx: PreflightContext) -> dict[str, str]:
    stack = ctx.facts.stack
    if not stack:
        return {}
    pages = (
        ctx.client("cloudformation")
        .get_paginator("list_stack_resources")
        .paginate(StackName=stack["StackId"])
    )
    return {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
        for page in pages
        for r in page.get("StackResourceSummaries", [])
    }


def run_checks(ctx: PreflightContext, online_inputs: online.ChangeSetInputs | None = None) -> Report:
    checks = runnable(online_inputs)
    with ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="preflight") as pool:
        results = [pool.submit(check, ctx) for check in checks]
        findings = [finding for future in results for finding in future.result()]
    return Report(ordered(findings, order()), api_calls=len(ctx.calls))

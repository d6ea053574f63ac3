"""`deploy.py manifest validate|plan|deploy|status|drift FILE`: validate everything, run the stacks, print the summary."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from deployer.clients import ClientFactory, ClientSettings
from deployer.common_options import add_connection_options, add_waiting_options
from deployer.errors import BadInput, DeployError, ExitCode
from deployer.fleet.budget import Budgets
from deployer.fleet.clients import FactoryMaker
from deployer.fleet.manifest import Manifest, load_manifest
from deployer.fleet.plan import select
from deployer.fleet.runner import StackRunner, Waiting
from deployer.fleet.scheduler import Scheduler
from deployer.fleet.summary import StackResult, exit_code, resume_command, review_report, summary_table

ACTIONS = ("validate", "plan", "deploy", "status", "drift")
DEFAULT_MAX_PARALLEL = 4


def run_manifest_command(
    args: argparse.Namespace,
    argv: list[str],
    stdout: TextIO,
    stderr: TextIO,
    clock: Callable[[], float] = time.monotonic,
    make_factory: FactoryMaker = ClientFactory,
) -> int:
    try:
        manifest = load_manifest(args.file)
        graph = {key: entry.depends_on for key, entry in manifest.stacks.items()}
        selected = select(graph, args.only or [])
        _check_numbers(args)
    except DeployError as err:
        print(f"error: {' '.join(str(err).split())}", file=stderr, flush=True)
        return int(err.exit_code)
    max_parallel = args.max_parallel or manifest.settings.max_parallel or DEFAULT_MAX_PARALLEL
    print(
        f"Manifest {args.file}: {len(selected)} of {len(manifest.stacks)} stack(s), in this order: "
        f"{', '.join(selected)}; up to {max_parallel} at once; on failure: {args.on_failure}",
        file=stdout,
        flush=True,
    )
    if args.action == "validate":
        print("The manifest is valid; nothing was called.", file=stdout, flush=True)
        return int(ExitCode.SUCCESS)
    stop = threading.Event()
    runner = _runner(args, manifest, stdout, stop, argv, clock, make_factory)
    scheduler = Scheduler(
        graph=graph,
        selected=selected,
        work=runner,
        blank=runner.blank,
        max_parallel=max_parallel,
        on_failure=args.on_failure,
        ordered=args.action not in {"status", "drift"},  # read-only: no stack waits for another
        stop=stop,
    )
    with _sigterm_as_interrupt() as terminated:
        results = scheduler.run()
    stopped_by = None
    if scheduler.interrupted:
        stopped_by = ExitCode.TERMINATED if terminated.is_set() else ExitCode.INTERRUPTED
    return int(_finish(args, argv, results, runner.budgets, stopped_by, stdout, stderr))


def _check_numbers(args: argparse.Namespace) -> None:
    if args.max_parallel is not None and args.max_parallel < 1:
        raise BadInput("--max-parallel must be at least 1")
    if args.report_file and args.action != "plan":
        raise BadInput("--report-file is written by `manifest plan` only")


def _runner(
    args: argparse.Namespace,
    manifest: Manifest,
    stdout: TextIO,
    stop: threading.Event,
    argv: list[str],
    clock: Callable[[], float],
    make_factory: FactoryMaker,
) -> StackRunner:
    settings = ClientSettings(
        endpoint_url=args.endpoint_url, retry_mode=args.retry_mode, max_attempts=args.max_attempts
    )
    holder: list[StackRunner] = []

    def budget_sleep(seconds: float) -> None:
        holder[0].sleep(seconds)

    budgets = Budgets(manifest.settings.calls_per_second, manifest.settings.burst, clock, budget_sleep)
    runner = StackRunner(
        manifest=manifest,
        action=args.action,
        base=settings,
        waiting=Waiting(args.timeout, args.poll_interval, args.max_poll_interval),
        budgets=budgets,
        stream=stdout,
        stop=stop,
        resume=lambda key: (
            resume_command(argv, [StackResult(key=key, region="", result="interrupted")]) or ""
        ),
        clock=clock,
        make_factory=make_factory,
    )
    holder.append(runner)
    return runner


def _finish(
    args: argparse.Namespace,
    argv: list[str],
    results: list[StackResult],
    budgets: Budgets,
    stopped_by: ExitCode | None,
    stdout: TextIO,
    stderr: TextIO,
) -> ExitCode:
    print("", file=stdout)
    for line in summary_table(results):
        print(line, file=stdout)
    for (account, region), (calls, waited) in sorted(budgets.figures().items()):
        print(
            f"CloudFormation calls in {account}/{region}: {calls} (paced for {waited:.1f}s in all)",
            file=stdout,
        )
    if args.action == "plan" and args.report_file:
        args.report_file.write_text(review_report(str(args.file), results), encoding="utf-8")
        print(f"Wrote the review report to {args.report_file}", file=stdout)
    stdout.flush()
    resume = resume_command(argv, results)
    if stopped_by is not None:
        what = "terminated (SIGTERM)" if stopped_by is ExitCode.TERMINATED else "interrupted"
        print(
            f"{what}: no new stack was started; operations already started continue in CloudFormation",
            file=stderr,
        )
        if resume:
            print(f"  to resume, run: {resume}", file=stderr)
        stderr.flush()
        return stopped_by
    code = exit_code(results)
    if resume and code not in {ExitCode.SUCCESS, ExitCode.CHANGES_PRESENT}:
        print(f"to retry the stacks that did not finish, run: {resume}", file=stderr, flush=True)
    return code


@contextmanager
def _sigterm_as_interrupt() -> Iterator[threading.Event]:
    """SIGTERM (a CI job cancelled) stops the run as Ctrl-C does: start nothing new, leave running operations
    alone. The event it yields records that it was SIGTERM, so the run exits 143 as every other command does."""
    terminated = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def handler(signum: int, frame: Any) -> None:
        terminated.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_manifest_parser(sub: Any, epilog: str) -> None:
    help_text = (
        "many stacks from one TOML manifest: validate (no AWS call), plan (review: change sets, one Markdown "
        "report), deploy, status, drift (every stack's drift; exit 11 if any drifted); independent stacks run concurrently, dependants in order"
    )
    p = sub.add_parser(
        "manifest",
        help=help_text,
        description=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=ACTIONS, help="validate | plan | deploy | status | drift")
    p.add_argument("file", type=Path, metavar="FILE", help="the manifest (TOML); see docs/deploy.md")
    p.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these stacks (others' outputs are read)"
    )
    p.add_argument(
        "--max-parallel",
        type=int,
        help=f"stacks at once (default: the manifest's settings.max_parallel, else {DEFAULT_MAX_PARALLEL})",
    )
    p.add_argument(
        "--on-failure",
        choices=("stop", "continue"),
        default="stop",
        help="stop: start nothing new, let running stacks finish (default); continue: finish every stack that "
        "does not depend on the failed one",
    )
    p.add_argument("--report-file", type=Path, help="plan: write the review report (Markdown) to this file")
    add_connection(p)


def add_connection(p: argparse.ArgumentParser) -> None:
    """What deploy's connection and waiting flags mean for every stack; region and profile come from the file."""
    add_connection_options(p.add_argument_group("AWS connection (region and credentials are per stack)"))
    add_waiting_options(p.add_argument_group("waiting (per stack)"))

"""Command line: parse, check every input, build the clients, run one command, map the outcome to an exit code."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from deployer.arguments import build_parser, check_common, connection_args
from deployer.clients import ClientFactory, ClientSettings, botocore_error
from deployer.deploy_flags import deploy_options, execute_options
from deployer.drift import run_drift
from deployer.engine import run_deploy, run_execute
from deployer.errors import AwsApiError, DeployError, ExitCode
from deployer.fleet.command import run_manifest_command
from deployer.fleet.stackset_command import run_stackset_command
from deployer.options import DeployOptions
from deployer.output import make_reporter
from deployer.preflight.command import run_preflight_command
from deployer.runtime import Context, invocation
from deployer.stack_ops import run_delete, run_status
from deployer.timeline import run_timeline
from deployer.upload import check_template_bucket
from deployer.waiting import Pacer

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client


class Clients(Protocol):
    def cloudformation(self) -> CloudFormationClient: ...

    def s3(self) -> S3Client: ...

    def client(self, service_name: str) -> Any: ...


@dataclass
class Environment:
    """Everything the CLI takes from the outside world; tests replace parts of it."""

    clients: Callable[[ClientSettings], Clients] = ClientFactory
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdout_is_tty: bool | None = None
    stdin_is_tty: bool | None = None
    confirm: Callable[[str], str] = input


class Terminated(BaseException):
    """SIGTERM arrived (CI cancels a job with it): unwinds like Ctrl-C, past every `except Exception`."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    # Signal handlers can only be set from the main thread; elsewhere (a test runner's worker) SIGTERM keeps
    # its default.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    with _sigterm_as_exception():
        return _main(argv, env)


def _main(argv: list[str] | None, env: Environment | None) -> int:
    env = env or Environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse already printed the usage error (or the help)
        return int(stop.code or 0)
    stdin_tty = sys.stdin.isatty() if env.stdin_is_tty is None else env.stdin_is_tty
    stdout_tty = env.stdout.isatty() if env.stdout_is_tty is None else env.stdout_is_tty
    context: Context | None = None
    # Every command, the manifest and StackSets included, ends in the handlers below: a signal, an AWS error or a
    # bug gets the same exit code and the same kind of message whichever command was running.
    try:
        if args.command == "manifest":  # many stacks: region and credentials per stack, its own orchestration
            return run_manifest_command(args, argv, env.stdout, env.stderr, env.clock)
        if args.command == "stackset":  # CloudFormation StackSets: AWS runs the roll-out
            return run_stackset_command(args, env.stdout, env.sleep, env.clock, env.clients)
        check_common(args, stdin_tty)
        options = deploy_options(args) if args.command in {"deploy", "plan", "preflight"} else None
        factory = env.clients(
            ClientSettings(args.region, args.profile, args.endpoint_url, args.retry_mode, args.max_attempts)
        )
        pacer = Pacer(env.sleep, env.clock, args.timeout, args.poll_interval, args.max_poll_interval)
        context = Context(
            cfn=factory.cloudformation(),
            s3=factory.s3,
            reporter=make_reporter(env.stdout, stdout_tty, env.clock),
            pacer=pacer,
            command=argv,
            connection=connection_args(args),
            stdin_is_tty=stdin_tty,
            confirm=env.confirm,
            client=lambda service: factory.client(service),  # built only when a check needs it
            region=args.region,
            timeline_file=getattr(args, "timeline_file", None),  # deploy and execute only
        )
        pacer.resume_hint = f"to resume waiting, run the same command again: {context.rerun()}"
        pacer.notify = context.say
        if options is not None:  # before the preflight, the cleanup of old change sets or any upload
            check_template_bucket(factory.s3, options.template.body, options.s3_bucket)
        return int(_run(context, args, options))
    except DeployError as err:
        return _fail(env, context, err)
    # A missing profile, no credentials, endpoint unreachable, connection reset, a proxy's error page: never "a bug".
    except (ClientError, BotoCoreError, ResponseParserError) as err:
        # "running stackset deploy", "running manifest status": the subcommand too, where there is one.
        running = " ".join(filter(None, (args.command, getattr(args, "action", None))))
        return _fail(env, context, botocore_error(err, f"running {running}"))
    except KeyboardInterrupt:
        return _stopped(env, context, args, argv, "interrupted", ExitCode.INTERRUPTED)
    except Terminated:
        return _stopped(env, context, args, argv, "terminated (SIGTERM)", ExitCode.TERMINATED)
    except Exception:
        traceback.print_exc(file=env.stderr)
        print("error: unexpected internal error (a bug); the traceback is above", file=env.stderr)
        return int(ExitCode.INTERNAL_ERROR)


def _run(ctx: Context, args: argparse.Namespace, options: DeployOptions | None) -> ExitCode:
    if options is not None:  # deploy, plan and preflight read the same inputs
        if args.command == "preflight":
            return run_preflight_command(ctx, options, args.format)
        return run_deploy(ctx, options)
    if args.command == "execute":
        return run_execute(ctx, execute_options(args))
    if args.command == "drift":
        return run_drift(ctx, args.stack_name, args.report_file)
    if args.command == "timeline":
        return run_timeline(ctx, args.stack_name, args.output, args.operation)
    if args.command == "status":
        return run_status(ctx, args.stack_name, args.outputs_file)
    return run_delete(
        ctx, args.stack_name, yes=args.yes, retain=args.retain_resources, role_arn=args.role_arn
    )


def _fail(env: Environment, ctx: Context | None, err: DeployError) -> int:
    if ctx:
        ctx.reporter.finish()
    # One line whatever the message holds (AWS and parser messages sometimes span lines): CI logs are grepped.
    text = " ".join(str(err).split())
    print(f"error: {text}", file=env.stderr, flush=True)
    if ctx and err.exit_code is ExitCode.AWS_ERROR:
        # AWS or the network gave up on us mid-run: say what was left behind, and how to carry on when running
        # the same command again can succeed (not after a refused request: the hint says what to change).
        if isinstance(err, AwsApiError) and not err.rerun_helps:
            left = ctx.progress.left_behind()
            lines = [f"  {left}"] if left else []
        else:
            lines = ctx.resume_lines()
        if lines:
            print("\n".join(lines), file=env.stderr, flush=True)
    return int(err.exit_code)


def _stopped(
    env: Environment,
    ctx: Context | None,
    args: argparse.Namespace,
    argv: list[str],
    what: str,
    code: ExitCode,
) -> int:
    if ctx:
        ctx.reporter.finish()
    rerun = shlex.join([*invocation(), *argv])
    if args.command == "stackset":
        lines = [
            f"{what}: stopped waiting (a stack set operation already started keeps running in CloudFormation)",
            f"  to see where it got to: deploy.py stackset status --stack-set-name {args.stack_set_name}",
            f"  to carry on, run the same command again: {rerun}",
        ]
    else:
        lines = [
            f"{what}: the stack was left alone (an operation already started keeps running in CloudFormation)"
        ]
        lines += ctx.resume_lines() if ctx else [f"  to resume, run the same command again: {rerun}"]
    print("\n".join(lines), file=env.stderr, flush=True)
    return int(code)

"""One stack of a manifest, run in its own thread by reusing the single-stack commands (deploy, plan, status)."""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from deployer.clients import ClientFactory, ClientSettings, botocore_error
from deployer.drift import run_drift
from deployer.engine import run_deploy
from deployer.errors import BadInput, DeployError, DriftUnknown, ExitCode
from deployer.fleet.budget import Budgets, attach
from deployer.fleet.clients import Accounts, FactoryMaker, factory_for
from deployer.fleet.manifest import Manifest, StackEntry
from deployer.fleet.manifest_flags import stack_options
from deployer.fleet.scheduler import Interrupted
from deployer.fleet.summary import StackResult
from deployer.options import DeployOptions
from deployer.output import Event, event_line
from deployer.runtime import Context
from deployer.stack_ops import outputs_of, read_stack, run_status
from deployer.waiting import Pacer, describe_stack

Action = Literal["deploy", "plan", "status", "drift"]


class PrefixReporter:
    """Plain lines, each prefixed with the stack's manifest name: many stacks share one log."""

    def __init__(self, stream: TextIO, lock: threading.Lock, prefix: str) -> None:
        self._out, self._lock, self._prefix = stream, lock, prefix

    def say(self, text: str) -> None:
        with self._lock:
            for line in text.splitlines() or [""]:
                print(f"[{self._prefix}] {line}", file=self._out, flush=True)

    def event(self, event: Event) -> None:
        self.say(event_line(event))

    def progress(self, subject: str, status: str, elapsed: float) -> None:
        return None

    def finish(self) -> None:
        return None


class MissingInput(BadInput):
    """A producer stack has no such output yet: in review mode, because it has not been deployed."""


class ChangeRecorder:
    """Keeps the changes of the last complete DescribeChangeSet read (all its pages), for the summary and report."""

    def __init__(self) -> None:
        self.changes: list[dict[str, Any]] = []
        self.stack_id: str | None = None
        self._continuing = False

    def __call__(self, parsed: Mapping[str, Any], **_: Any) -> None:
        if not self._continuing:
            self.changes = []
        self.changes.extend(parsed.get("Changes") or [])
        self.stack_id = parsed.get("StackId") or self.stack_id
        self._continuing = bool(parsed.get("NextToken"))


@dataclass(frozen=True)
class Waiting:
    timeout: float
    first: float
    cap: float


@dataclass
class StackRunner:
    """Callable by the scheduler with a stack's manifest name; never raises (a failure is a result)."""

    manifest: Manifest
    action: Action
    base: ClientSettings
    waiting: Waiting
    budgets: Budgets
    stream: TextIO
    stop: threading.Event
    resume: Callable[[str], str]  # stack key -> the command that resumes it
    clock: Callable[[], float] = time.monotonic
    make_factory: FactoryMaker = ClientFactory
    accounts: Accounts = field(default_factory=Accounts)
    _outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(max(seconds, 0.0)):
            raise Interrupted

    def blank(self, key: str) -> StackResult:
        entry = self.manifest.stacks[key]
        return StackResult(key=key, region=entry.region, account=entry.account or "?")

    def __call__(self, key: str) -> StackResult:
        result = self.blank(key)
        started = self.clock()
        reporter = PrefixReporter(self.stream, self._lock, key)
        try:
            self._run(self.manifest.stacks[key], result, reporter)
        except MissingInput as err:
            result.detail = " ".join(str(err).split())
            # Review mode: the producer's change set is ready but not executed, so there is nothing to read yet.
            result.result = "skipped" if self.action == "plan" else "failed"
            result.exit_code = ExitCode.CHANGES_PRESENT if self.action == "plan" else err.exit_code
        except Interrupted:
            result.result, result.exit_code = "interrupted", ExitCode.INTERRUPTED
            result.detail = "stopped waiting; an operation already started continues in CloudFormation"
        except DeployError as err:
            result.result, result.exit_code, result.detail = (
                "failed",
                err.exit_code,
                " ".join(str(err).split()),
            )
        except (ClientError, BotoCoreError, ResponseParserError) as err:  # the CLI's own mapping, per stack
            failed = botocore_error(err, f"{self.action} of {key}")
            result.result, result.exit_code = "failed", failed.exit_code
            result.detail = " ".join(str(failed).split())
        result.duration = self.clock() - started
        if result.detail:
            reporter.say(f"{result.result}: {result.detail}")
        return result

    def _run(self, entry: StackEntry, result: StackResult, reporter: PrefixReporter) -> None:
        factory = factory_for(entry, self.base, self.make_factory)
        result.account = self.accounts.of(entry, factory)
        cfn = factory.cloudformation()
        attach(cfn, self.budgets.bucket(result.account, entry.region))
        recorder = ChangeRecorder()
        cfn.meta.events.register("after-call.cloudformation.DescribeChangeSet", recorder)
        ctx = self._context(entry, factory, cfn, reporter)
        if self.action == "status":
            run_status(ctx, entry.stack_name, None)
            result.result = "ok"
        elif self.action == "drift":
            try:
                result.exit_code = run_drift(ctx, entry.stack_name)
                result.result = "drifted" if result.exit_code is ExitCode.DRIFTED else "in sync"
            except DriftUnknown as err:
                # The detection ended without a verdict (DETECTION_FAILED, often with drift found on the resources
                # it could check, or out of time): an answer about this stack, not a failure of the run, so
                # --on-failure stop does not keep the stacks after it from being checked.
                result.result, result.exit_code = "drift unknown", err.exit_code
                result.detail = " ".join(str(err).split())
        else:
            parameters = {**entry.parameters, **self._inputs(entry)}
            options = stack_options(entry, parameters, review=self.action == "plan")
            code = self._deploy(ctx, options, result)
            result.exit_code = code
            result.result = "changes ready" if code is ExitCode.CHANGES_PRESENT else "deployed"
            result.change_list = list(recorder.changes)
            result.changes = len(recorder.changes)
            if result.changes == 0:
                result.result = "no changes"
        # By id when a change set named it: the name alone may also match an older stack of that name.
        stack = read_stack(ctx, recorder.stack_id or entry.stack_name)
        with self._lock:
            self._outputs[entry.key] = outputs_of(stack or {})

    def _deploy(self, ctx: Context, options: DeployOptions, result: StackResult) -> ExitCode:
        """deploy, or plan with the stack's change-set report kept for the manifest's one report."""
        if self.action != "plan":
            return run_deploy(ctx, options)
        with tempfile.TemporaryDirectory(prefix="tap-manifest-") as folder:
            report = Path(folder) / "report.md"
            try:
                return run_deploy(ctx, dataclasses.replace(options, report_file=report))
            finally:
                if report.exists():
                    result.report_markdown = report.read_text(encoding="utf-8")

    def _context(
        self, entry: StackEntry, factory: ClientFactory, cfn: Any, reporter: PrefixReporter
    ) -> Context:
        pacer = Pacer(self.sleep, self.clock, self.waiting.timeout, self.waiting.first, self.waiting.cap)
        pacer.resume_hint = f"to resume, run: {self.resume(entry.key)}"
        connection = ["--region", entry.region]
        if entry.credentials.profile:
            connection += ["--profile", entry.credentials.profile]
        if self.base.endpoint_url:
            connection += ["--endpoint-url", self.base.endpoint_url]
        single = ["deploy", "--stack-name", entry.stack_name, "--template-file", str(entry.template.path)]
        if entry.s3_bucket:  # a hint that re-runs one stack needs the bucket its template goes through
            single += [
                "--s3-bucket",
                entry.s3_bucket,
                *(["--s3-prefix", entry.s3_prefix] if entry.s3_prefix else []),
            ]
        return Context(
            cfn=cfn,
            s3=factory.s3,
            reporter=reporter,
            pacer=pacer,
            command=[*single, *connection],
            connection=connection,
            client=factory.client,
            region=entry.region,
        )

    def _inputs(self, entry: StackEntry) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for name, ref in entry.inputs.items():
            outputs = self._outputs_of(ref.stack)
            if ref.output not in outputs:
                hint = (
                    f"deploy {ref.stack} first" if self.action == "plan" else "check its template's Outputs"
                )
                raise MissingInput(
                    f"stack {ref.stack} has no output {ref.output} (needed for {name})", hint=hint
                )
            values[name] = outputs[ref.output]
        return values

    def _outputs_of(self, key: str) -> dict[str, str]:
        with self._lock:
            if key in self._outputs:
                return self._outputs[key]
        # A stack not run now (left out with --only): its outputs are read as deployed.
        entry = self.manifest.stacks[key]
        factory = factory_for(entry, self.base, self.make_factory)
        cfn = factory.cloudformation()
        attach(cfn, self.budgets.bucket(self.accounts.of(entry, factory), entry.region))
        stack = describe_stack(cfn, entry.stack_name)
        outputs = outputs_of(stack or {})
        with self._lock:
            self._outputs[key] = outputs
        return outputs

"""What every command needs at run time: clients, the reporter, the pacer, and how to tell the user to resume."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.clients import DEFAULT_REGION
from deployer.output import Reporter
from deployer.waiting import Pacer

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client


@dataclass
class Progress:
    """How far a run got, so an interrupt can say exactly what was left behind."""

    change_set: str | None = None
    stack: str | None = None
    executing: bool = False
    # The answer to ExecuteChangeSet was lost and whether it took effect could not be read back.
    start_unknown: bool = False

    def left_behind(self) -> str | None:
        """What an interrupted or failed run left in CloudFormation that the next step should know about."""
        if self.change_set and self.start_unknown:
            return f"change set {self.change_set} may or may not have started executing (its answer was lost)"
        if self.change_set and not self.executing:
            return f"change set {self.change_set} was created and not executed"
        if self.executing:
            return "the stack operation is in progress in CloudFormation"
        return None


@dataclass
class Context:
    cfn: CloudFormationClient
    s3: Callable[[], S3Client]  # built only when a template must be uploaded
    reporter: Reporter
    pacer: Pacer
    command: list[str]  # the user's arguments, to print "run this again" commands
    connection: list[str]  # --region / --profile / --endpoint-url exactly as given
    stdin_is_tty: bool = False
    confirm: Callable[[str], str] = input
    progress: Progress = field(default_factory=Progress)
    client: Callable[[str], Any] = field(default=lambda service: _no_client(service))  # any other AWS client
    region: str = DEFAULT_REGION
    timeline_file: Path | None = None  # deploy/execute --timeline-file: drawn when an execution ends

    def say(self, text: str) -> None:
        self.reporter.say(text)

    def rerun(self, *extra: str) -> str:
        return shlex.join(["deploy.py", *self.command, *extra])

    def command_for(self, *args: str) -> str:
        return shlex.join(["deploy.py", *args, *self.connection])

    def resume_lines(self) -> list[str]:
        """The state a stopped run left behind and the command that carries on from there."""
        lines = []
        left = self.progress.left_behind()
        if left:
            lines.append(f"  {left}")
        if self.progress.change_set and self.progress.stack and not self.progress.executing:
            execute = self.command_for(
                "execute", "--stack-name", self.progress.stack, "--change-set-name", self.progress.change_set
            )
            lines.append(f"  to execute it: {execute}")
            lines.append(
                f"  or to start over with a new change set, run the same command again: {self.rerun()}"
            )
        else:
            lines.append(f"  to resume, run the same command again: {self.rerun()}")
        return lines


def _no_client(service: str) -> Any:
    raise RuntimeError(f"this run was not given a client factory for {service}")

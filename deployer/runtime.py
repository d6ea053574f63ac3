"""What every command needs at run time: clients, the reporter, the pacer, and how to tell the user to resume."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
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


SCRIPT = "deploy.py"
CONSOLE_SCRIPT = "tap-deploy"  # pyproject.toml [project.scripts]


def _as_typed(path: str) -> str:
    """A path as short as it can be pasted from the working directory: relative inside it, absolute outside."""
    full = os.path.abspath(path)
    inside = os.path.commonpath([full, os.getcwd()]) == os.getcwd()
    return os.path.relpath(full) if inside else path


def invocation(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """How this run was started, so a printed command can be pasted as it is.

    `python deploy.py` names the interpreter that ran it (`.venv/bin/python` holds the dependencies; a bare
    `deploy.py` is not executable and the `python` on PATH may lack them); the installed `tap-deploy` script is
    named as the shell finds it. Called any other way (deploy.main from Python), the plain script name.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    name = os.path.basename(argv0)
    if name == SCRIPT:
        return [_as_typed(sys.executable if executable is None else executable), _as_typed(argv0)]
    if name == CONSOLE_SCRIPT:
        found = shutil.which(name)
        same = found is not None and os.path.abspath(found) == os.path.abspath(argv0)
        return [name if same else _as_typed(argv0)]
    return [SCRIPT]


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
    program: list[str] = field(
        default_factory=invocation
    )  # how the user ran this tool, first in every command
    timeline_file: Path | None = None  # deploy/execute --timeline-file: drawn when an execution ends

    def say(self, text: str) -> None:
        self.reporter.say(text)

    def rerun(self, *extra: str) -> str:
        return shlex.join([*self.program, *self.command, *extra])

    def command_for(self, *args: str) -> str:
        return shlex.join([*self.program, *args, *self.connection])

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

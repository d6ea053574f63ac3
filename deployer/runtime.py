"""What every command needs at run time: clients, the reporter, the pacer, and how to tell the user to resume."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
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
    executing: bool = False


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

    def say(self, text: str) -> None:
        self.reporter.say(text)

    def rerun(self, *extra: str) -> str:
        return shlex.join(["deploy.py", *self.command, *extra])

    def command_for(self, *args: str) -> str:
        return shlex.join(["deploy.py", *args, *self.connection])


def _no_client(service: str) -> Any:
    raise RuntimeError(f"this run was not given a client factory for {service}")

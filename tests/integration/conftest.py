"""Fixtures of the integration tier: moto's server on 127.0.0.1 (with the gaps in emulator/gaps.py closed),
reset before every test so that no test sees another's resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

import deploy
from emulator.server import DUMMY_AWS_ENV, REGION, UNSET_AWS_ENV, MotoServer, start_moto_server
from tests.cli_server import command_server

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "output" / "tap-stack.json"
TEMPLATE_BUCKET = "tap-integration-templates"


@pytest.fixture(scope="session")
def cli_bin() -> Iterator[Path]:
    """A folder with the `aws` and `cfn-lint` of the command server (tests/cli_server.py), for a PATH."""
    with command_server() as folder:
        yield folder


@pytest.fixture(scope="session")
def emulator() -> Iterator[MotoServer]:
    server = start_moto_server()
    yield server
    server.stop()


@dataclass
class Account:
    """One emulated AWS account, empty at the start of each test."""

    endpoint: str
    template_bucket: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def deploy(self, *args: str) -> int:
        """Run deploy.py's real entry point against the emulator, with fast polling."""
        command, *rest = args
        # deploy asks before executing when stdin is a terminal (pytest -s); answer for the test. The security gate
        # (exit 14 without a terminal) has tests of its own; these are about the stack.
        confirm = ["--yes"] if command == "deploy" else []
        confirm += ["--require-approval", "never"] if command in {"deploy", "execute"} else []
        return deploy.main(
            [
                command,
                "--region",
                REGION,
                "--endpoint-url",
                self.endpoint,
                "--poll-interval",
                "0.05",
                "--max-poll-interval",
                "0.2",
                *confirm,
                *rest,
            ]
        )

    def deploy_stack(self, command: str, stack: str, parameters: tuple[str, ...], *extra: str) -> int:
        """`command` (deploy, plan) of output/tap-stack.json as the README shows it: through the S3 bucket, with
        CAPABILITY_IAM and the given parameter overrides."""
        return self.deploy(
            command,
            "--stack-name",
            stack,
            "--template-file",
            str(TEMPLATE),
            "--s3-bucket",
            self.template_bucket,
            "--capabilities",
            "CAPABILITY_IAM",
            *extra,
            "--parameter-overrides",
            *parameters,
        )

    def resources(self, stack: str) -> dict[str, str]:
        """Logical id -> physical id of every resource of a stack, read with a paginator."""
        pages = self.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack)
        return {
            r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
            for page in pages
            for r in page["StackResourceSummaries"]
        }

    def stack(self, stack: str) -> dict[str, Any]:
        stacks: list[dict[str, Any]] = self.client("cloudformation").describe_stacks(StackName=stack)[
            "Stacks"
        ]
        return stacks[0]


@pytest.fixture
def account(emulator: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Account:
    emulator.reset()
    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    for key in UNSET_AWS_ENV:
        monkeypatch.delenv(key, raising=False)
    # moto serves TemplateURL uploads only when the URL's host is "localhost" (see emulator/gaps.py).
    endpoint = f"http://localhost:{emulator.port}"
    acct = Account(endpoint=endpoint, template_bucket=TEMPLATE_BUCKET)
    acct.client("s3").create_bucket(Bucket=TEMPLATE_BUCKET)
    return acct


@pytest.fixture(scope="session")
def template_text() -> str:
    assert TEMPLATE.exists(), "output/tap-stack.json is missing: run `make generate`"
    return TEMPLATE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def template(template_text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(template_text)
    return parsed

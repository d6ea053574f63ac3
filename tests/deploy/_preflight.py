"""Helpers of the preflight tests: a preflight context against moto's server, or against Stubber-backed clients."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.stub import Stubber

from deployer.clients import ClientFactory, ClientSettings
from deployer.preflight.context import PreflightContext
from deployer.preflight.model import Finding, Status
from deployer.preflight.runner import make_context
from emulator.server import MotoServer
from tests.deploy.conftest import stubbed_client

ROOT = Path(__file__).resolve().parents[2]
TAP_STACK = ROOT / "output" / "tap-stack.json"
ACCOUNT = "123456789012"
REGION = "us-east-1"
SLR_ARN = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
)
# What a KMS grant to the Auto Scaling service-linked role must allow for it to launch instances with encrypted
# volumes (AWS's "Required KMS key policy for use with encrypted volumes"): a grant that stands in for the policy.
AUTO_SCALING_GRANT_OPERATIONS = [
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "DescribeKey",
    "CreateGrant",
]


def tap_stack() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(TAP_STACK.read_text(encoding="utf-8"))
    return doc


def moto_context(
    moto: MotoServer,
    template: Mapping[str, Any] | None = None,
    stack: Mapping[str, Any] | None = None,
    **parameters: str,
) -> PreflightContext:
    # Two attempts: what moto does not implement answers 500, and the tests need no long retry backoff.
    factory = ClientFactory(ClientSettings(endpoint_url=moto.endpoint, max_attempts=2))
    return make_context(factory.client, template or tap_stack(), parameters, stack, REGION)


class StubClients:
    """make_client for a PreflightContext: one Stubber-backed client per service, every call checked."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Any:
        return self.client(service)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = stubbed_client(service)
            self.stubs[service] = Stubber(self.clients[service])
            self.stubs[service].activate()
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self.stubs[service]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@contextmanager
def stubbed_context(
    template: Mapping[str, Any] | None = None, stack: Mapping[str, Any] | None = None, **parameters: str
) -> Iterator[tuple[PreflightContext, StubClients]]:
    clients = StubClients()
    ctx = make_context(clients, template or tap_stack(), parameters, stack, REGION)
    ctx.facts.account_id = lambda: ACCOUNT
    yield ctx, clients
    clients.verify()


def only(findings: list[Finding], status: Status) -> list[Finding]:
    return [f for f in findings if f.status is status]


def one(findings: list[Finding], status: Status) -> Finding:
    matching = only(findings, status)
    assert len(matching) == 1, findings
    return matching[0]

"""What every check gets: the stack's facts, AWS clients (made once, shared by the threads), and error wording."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, StubResponseError
from botocore.parsers import ResponseParserError

from deployer.clients import error_code, error_message
from deployer.clients import is_access_denied as is_denied
from deployer.preflight.facts import StackFacts
from deployer.preflight.model import Finding, Status

__all__ = ["AWS_ERRORS", "PreflightContext", "could_not_check", "is_denied", "let_harness_errors_through"]

# botocore's Stubber reports a call the test did not expect, or one with other arguments, as a BotoCoreError
# (UnStubbedResponseError, StubAssertionError and their base StubResponseError). They say the test is wrong, not
# AWS: a check that turned them into a WARN would let an extra or misspelt call pass unnoticed.
HARNESS_ERRORS = (StubResponseError,)


@dataclass
class PreflightContext:
    facts: StackFacts
    make_client: Callable[[str], Any]  # ClientFactory.client: same session, config and endpoint as deploy
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        # boto3 sessions are not thread-safe when they build clients; the clients themselves are.
        with self._lock:
            if service not in self._clients:
                client = self.make_client(service)
                client.meta.events.register("before-parameter-build.*.*", self._count)
                self._clients[service] = client
            return self._clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}:{model.name}")


def could_not_check(check: str, what: str, err: Exception, permission: str) -> Finding:
    """An AWS answer that is not a verdict: a WARN naming the permission when denied, never a pass."""
    let_harness_errors_through(err)
    if isinstance(err, ClientError) and is_denied(err):
        return Finding(
            check,
            Status.WARN,
            f"cannot check {what}: access denied ({permission})",
            fix=f"allow {permission} for the credentials running preflight, then run it again",
        )
    if isinstance(err, ResponseParserError):
        detail = "the endpoint's answer is not an AWS response (it does not implement this API)"
    elif isinstance(err, ClientError):
        detail = f"{error_code(err)}: {error_message(err)}"
    else:
        detail = str(err)
    return Finding(check, Status.WARN, f"cannot check {what}: {' '.join(detail.split())[:300]}")


def let_harness_errors_through(err: Exception) -> None:
    """Re-raise a test harness's error caught with AWS_ERRORS: it is a failing test, never a finding."""
    if isinstance(err, HARNESS_ERRORS):
        raise err


# A response botocore cannot parse (an endpoint answering an unknown API with an HTML error page) is not a
# BotoCoreError, yet it is an answer about the endpoint, not a bug of the check.
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)

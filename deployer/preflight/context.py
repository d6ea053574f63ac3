"""What every check gets: the stack's facts, AWS clients (made once, shared by the threads), and error wording."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from deployer.clients import error_code, error_message
from deployer.preflight.facts import StackFacts
from deployer.preflight.model import Finding, Status

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnrecognizedClientException",
    }
)


def is_denied(err: ClientError) -> bool:
    return error_code(err) in DENIED_CODES or "not authorized" in error_message(err)


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


# A response botocore cannot parse (an endpoint answering an unknown API with an HTML error page) is not a
# BotoCoreError, yet it is an answer about the endpoint, not a bug of the check.
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)

"""Clients for one stack of a manifest: its region and profile, or a role assumed through STS with an external id."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import boto3

from deployer.clients import ClientFactory, ClientSettings, aws_call
from deployer.fleet.manifest import StackEntry

FactoryMaker = Callable[[ClientSettings], ClientFactory]


class AssumedRoleFactory(ClientFactory):
    """The project's client factory, on a session made of temporary credentials instead of a profile."""

    def __init__(self, settings: ClientSettings, credentials: dict[str, Any]) -> None:
        super().__init__(replace(settings, profile=None))
        self._session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=settings.region,
        )


def factory_for(entry: StackEntry, base: ClientSettings, make: FactoryMaker = ClientFactory) -> ClientFactory:
    """Build in the thread that uses it: boto3 sessions are not shared across threads."""
    settings = replace(base, region=entry.region, profile=entry.credentials.profile)
    factory = make(settings)
    role = entry.credentials.role_arn
    if not role:
        return factory
    kwargs: dict[str, Any] = {"RoleArn": role, "RoleSessionName": f"tap-deploy-{uuid.uuid4().hex[:12]}"}
    if entry.credentials.external_id:
        kwargs["ExternalId"] = entry.credentials.external_id
    with aws_call(f"assuming role {role} for stack {entry.key}"):
        answer = factory.client("sts").assume_role(**kwargs)
    return AssumedRoleFactory(settings, answer["Credentials"])


class Accounts:
    """The account id behind each set of credentials, asked of STS once per run when the manifest does not say."""

    def __init__(self) -> None:
        self._known: dict[tuple[str | None, str | None], str] = {}
        self._lock = threading.Lock()

    def of(self, entry: StackEntry, factory: ClientFactory) -> str:
        if entry.account:
            return entry.account
        key = (entry.credentials.profile, entry.credentials.role_arn)
        with self._lock:
            if key in self._known:
                return self._known[key]
        with aws_call(f"reading the account of stack {entry.key}'s credentials"):
            account = str(factory.client("sts").get_caller_identity()["Account"])
        with self._lock:
            self._known[key] = account
        return account

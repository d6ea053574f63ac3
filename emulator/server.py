"""moto's server on 127.0.0.1 with the gaps of emulator.gaps closed: start, reset, stop, dummy credentials.

Used by `tap-emulator` (make emulator), the deploy and integration tiers, scripts/demo.py and
benchmarks/deploy_benchmark.py. It listens on loopback only; nothing here talks to AWS.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from emulator.gaps import patch_moto

HOST = "127.0.0.1"
REGION = "us-east-1"
# Dummy credentials, and no shared config files, so a developer's real profile can never be picked up.
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass
class MotoServer:
    server: ThreadedMotoServer
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def reset(self) -> None:
        """Forget every resource: each test starts from an empty account."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def stop(self) -> None:
        self.server.stop()


def start_moto_server(port: int = 0) -> MotoServer:
    """Start moto on 127.0.0.1; port 0 (the default) lets the OS pick a free one, so parallel runs never collide.

    The server runs in this process, so the emulator gaps closed by emulator.gaps.patch_moto apply to it.
    """
    patch_moto()
    # werkzeug logs every request to stderr; keep test and benchmark output readable.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    started = MotoServer(server=server, port=int(port))
    # moto keeps its accounts per process, not per server: a server started after another one in this process (a
    # test, then `make demo`'s code run in-process) would inherit what the first one left. Each starts empty.
    started.reset()
    return started


@contextmanager
def dummy_aws_env() -> Iterator[None]:
    """Set the dummy credentials in os.environ for the duration (scripts; tests prefer monkeypatch)."""
    saved = {key: os.environ.get(key) for key in (*DUMMY_AWS_ENV, *UNSET_AWS_ENV)}
    os.environ.update(DUMMY_AWS_ENV)
    for key in UNSET_AWS_ENV:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def running_moto_server() -> Iterator[MotoServer]:
    server = start_moto_server()
    try:
        yield server
    finally:
        server.stop()

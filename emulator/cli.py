"""`tap-emulator` (make emulator): run the project's AWS emulator in the foreground on 127.0.0.1.

Prints the environment lines that point the AWS CLI (or deploy.py, or boto3) at it, so the commands of
output/tap-stack.md can be rehearsed without an AWS account. Ctrl-C (or SIGTERM) stops it.

Exit codes: 0 stopped by Ctrl-C or SIGTERM, 2 bad usage or the port is not free.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Sequence
from types import FrameType

from emulator.server import DUMMY_AWS_ENV, HOST, REGION, start_moto_server

DEFAULT_PORT = 5000


def environment_lines(port: int) -> list[str]:
    """The `export` lines a shell needs to talk to the emulator with dummy credentials."""
    values = {
        "AWS_ENDPOINT_URL": f"http://{HOST}:{port}",
        "AWS_ACCESS_KEY_ID": DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": REGION,
    }
    return [f"export {key}={shlex.quote(value)}" for key, value in values.items()]


def _port_is_free(port: int) -> bool:
    # ThreadedMotoServer waits forever when its thread cannot bind; check first so a busy port is one error line.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-emulator",
        description=(
            "Run moto's AWS emulator, with this project's gap patches (emulator/gaps.py), on 127.0.0.1 in the "
            "foreground and print the environment lines that point the AWS CLI at it. Ctrl-C stops it."
        ),
        epilog="Exit codes: 0 stopped by Ctrl-C or SIGTERM, 2 bad usage or the port is not free.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"loopback port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(
            f"error: --port {args.port} is not a port: give 1-65535 (or 0 for any free one)", file=sys.stderr
        )
        return 2
    if args.port and not _port_is_free(args.port):
        print(
            f"error: port {args.port} on {HOST} is in use: stop what uses it or pass another --port",
            file=sys.stderr,
        )
        return 2
    # moto announces each resource type it does not build; emulator/gaps.py lists them.
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    server = start_moto_server(args.port)
    stop = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    print(f"AWS emulator (moto, with emulator/gaps.py) listening on {server.endpoint}", flush=True)
    print("Paste these lines into the shell that runs the AWS CLI:", flush=True)
    for line in environment_lines(server.port):
        print(line, flush=True)
    print("Ctrl-C stops the emulator; everything it holds is forgotten.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    print("emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The AWS CLI and cfn-lint for tests that run shell blocks, without a new Python start-up for every call.

The hand-off page's blocks call `aws` about 120 times in one rehearsal. Each call was a new Python process that
imported awscli and botocore again (half a second on a 2-core machine), and those start-ups were most of the
integration tier's time. `command_server()` imports each tool once, in a process of its own (awscli carries a
botocore of its own, so the two never share one), and forks that process for each call. The `aws` and `cfn-lint` that the blocks find first on their PATH are small clients:
each hands the server its arguments, environment, working directory and standard streams, and exits with the
exit status of the tool's own `main()` (`awscli.clidriver.main`, `cfnlint.runner.main`). The code that runs is the
installed tool's, with the block's own arguments; only the interpreter's start-up and imports are shared.

A server is never forked from the test process (moto's server threads live there): it is a separate process
that imports nothing but its tool, and each forked child sets its streams, directory and environment from the
request before the tool reads anything. What the tool's import did to the environment is done again for the
client's environment (awscli adds its data folder to AWS_DATA_PATH when it is imported).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

HEADER = struct.Struct("!I")
STATUS = struct.Struct("!i")
TOOLS = {"aws": "awscli.clidriver", "cfn-lint": "cfnlint.runner"}
CLIENT = """#!{python} -IS
# {name}: run by the command server at {socket} (tests/cli_server.py).
import json, os, socket, struct, sys
request = json.dumps({{"tool": {name!r}, "argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}})
body = request.encode()
conn = socket.socket(socket.AF_UNIX)
try:
    conn.connect({socket!r})
except OSError as err:
    sys.exit("{name}: the test command server at {socket} is not running (" + str(err) + ")")
socket.send_fds(conn, [struct.pack("!I", len(body))], [0, 1, 2])
conn.sendall(body)
status = b""
while len(status) < 4:
    chunk = conn.recv(4 - len(status))
    if not chunk:
        sys.exit("{name}: the test command server ended the call without an exit status")
    status += chunk
sys.exit(struct.unpack("!i", status)[0])
"""


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    head, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3)
    (size,) = HEADER.unpack(head)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("the client went away before its request was read")
        body += chunk
    return json.loads(body), fds


def _entry(tool: str) -> Callable[[], object]:
    if tool == "aws":
        import awscli.clidriver

        return awscli.clidriver.main
    import cfnlint.runner

    return cfnlint.runner.main


def _as_awscli_import_and_script_do() -> None:
    """The environment the installed `aws` script gives awscli: the import's AWS_DATA_PATH and the script's LC_CTYPE."""
    import awscli

    paths = [
        os.path.expanduser(os.path.expandvars(p))
        for p in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep)
        if p
    ]
    data = os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), "data")
    os.environ["AWS_DATA_PATH"] = os.pathsep.join([*paths, data])
    if os.environ.get("LC_CTYPE", "") == "UTF-8":
        os.environ["LC_CTYPE"] = "en_US.UTF-8"


def _run_call(conn: socket.socket) -> None:
    """In the forked child: become the client's process, run the tool, send back its exit status."""
    request, fds = _receive(conn)
    tool = str(request["tool"])
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    if tool == "aws":
        _as_awscli_import_and_script_do()
    argv = request["argv"]
    assert isinstance(argv, list)
    sys.argv = [tool, *map(str, argv)]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = _entry(tool)()
        status = result if isinstance(result, int) else 0
    except SystemExit as done:
        code = done.code
        if isinstance(code, int):
            status = code
        elif code is None:
            status = 0
        else:
            print(code, file=sys.stderr)
            status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    conn.sendall(STATUS.pack(status))


def _warm(tool: str) -> None:
    """Import what a call imports on its way, once, before the first fork (each child would import it again).

    Nothing is kept but modules and the tools' own module-level caches: the driver, session and client made here are
    dropped, and each call makes its own from the client's environment, as the installed script does.
    """
    if tool == "aws":
        import awscli.clidriver

        driver = awscli.clidriver.create_clidriver()
        driver._get_command_table()
        for service in ("cloudformation", "s3", "sts"):
            driver.session.create_client(
                service, region_name="us-east-1", aws_access_key_id="warm", aws_secret_access_key="warm"
            )
        return
    import cfnlint.api

    cfnlint.api.lint('{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}', regions=["us-east-1"])


def serve(tool: str, path: str) -> None:
    """The server's loop: one forked child per call. Imports the tool first, so each child starts with it."""
    _warm(tool)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            code = 0
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _run_call(conn)
            except BaseException:  # a child must never return into the server's loop
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        conn.close()


@contextlib.contextmanager
def command_server() -> Iterator[Path]:
    """Start the server; yield a folder with the `aws` and `cfn-lint` clients, to put first on a PATH."""
    with tempfile.TemporaryDirectory(prefix="tap-cli-") as folder, contextlib.ExitStack() as servers:
        bin_dir = Path(folder)
        for name in TOOLS:
            path = str(bin_dir / f"{name}.sock")
            servers.enter_context(_server(name, path))
            client = bin_dir / name
            client.write_text(CLIENT.format(python=sys.executable, name=name, socket=path))
            client.chmod(0o755)
        yield bin_dir


@contextlib.contextmanager
def _server(tool: str, path: str) -> Iterator[None]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.cli_server", tool, path],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"the test command server for {tool} did not start (it printed {ready!r})")
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])

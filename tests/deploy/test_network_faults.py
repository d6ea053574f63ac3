"""Errors below the API (a proxy's HTML 500, dropped connections, read timeouts) and SIGTERM: never exit 1."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.parsers import ResponseParserError

from deployer import cli
from deployer.errors import ExitCode
from tests.deploy.conftest import SMALL_TEMPLATE, STACK, STACK_ID, Harness, change
from tests.deploy.test_stack_state_scenarios import PREVIOUS
from tests.loopback_http import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
# What a load balancer or proxy sends: HTML that is not well-formed XML (void elements left open).
PROXY_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>500 Internal Server Error</title>'
    b"</head><body><h1>Internal Server Error</h1><hr><p>proxy</body></html>"
)
DESCRIBE_STACKS_XML = f"""<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
<DescribeStacksResult><Stacks><member><StackName>{STACK}</StackName><StackId>{STACK_ID}</StackId>
<StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2024-05-01T12:00:00Z</CreationTime></member></Stacks>
</DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>"""
LIST_CHANGE_SETS_XML = """<ListChangeSetsResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
<ListChangeSetsResult><Summaries/></ListChangeSetsResult><ResponseMetadata><RequestId>r2</RequestId>
</ResponseMetadata></ListChangeSetsResponse>"""


class ErrorPageServer:
    """A loopback HTTP server that answers the first `failures` requests (all, if None) with a proxy's HTML 500."""

    def __init__(self, failures: int | None = None) -> None:
        self.failures = failures
        self.requests = 0
        self.http: LoopbackServer | None = None
        self.url = ""

    def _answer(self, body: bytes) -> tuple[int, str, bytes]:
        self.requests += 1
        if self.failures is None or self.requests <= self.failures:
            return 500, "text/html", PROXY_PAGE
        if b"Action=DescribeStacks" in body:
            return 200, "text/xml", DESCRIBE_STACKS_XML.encode()
        return 200, "text/xml", LIST_CHANGE_SETS_XML.encode()

    def __enter__(self) -> ErrorPageServer:
        self.http = LoopbackServer(self._answer)
        self.url = self.http.url
        return self

    def __exit__(self, *_: object) -> None:
        assert self.http is not None
        self.http.close()


OFFLINE_AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask an instance-metadata address for credentials
}
CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in OFFLINE_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    for key in CREDENTIAL_ENV:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def aws_env(no_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def run_real_cli(*argv: str) -> tuple[int, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    env = cli.Environment(
        sleep=lambda _: None, stdout=out, stderr=err, stdout_is_tty=False, stdin_is_tty=False
    )
    return cli.main(list(argv), env), out.getvalue() + err.getvalue()


@pytest.mark.parametrize("command", ["deploy", "plan", "execute", "status", "delete"])
def test_a_proxy_error_page_at_every_call_is_an_aws_error_with_the_resume_command(
    command: str, harness: Harness, aws_env: None
) -> None:
    args = {
        "deploy": ["--template-file", harness.template()],
        "plan": ["--template-file", harness.template()],
        "execute": ["--change-set-name", "tap-deploy-update-x"],
        "status": [],
        "delete": ["--yes"],
    }[command]
    with ErrorPageServer() as server:
        code, text = run_real_cli(
            command, "--stack-name", STACK, *args, "--endpoint-url", server.url, "--max-attempts", "1"
        )
    assert code == ExitCode.AWS_ERROR, text
    assert "Traceback" not in text and "a bug" not in text
    assert "error: AWS error while" in text and ": 500:" in text  # botocore's generic server error
    assert f"run the same command again: deploy.py {command} --stack-name {STACK}" in text


def test_a_proxy_error_page_is_retried_by_botocore_like_any_server_error(aws_env: None) -> None:
    # botocore's own parser raises ResponseParserError on this page and never retries it; the client factory's
    # hook makes it the retryable generic 500 that botocore knows.
    with ErrorPageServer(failures=1) as server:
        code, text = run_real_cli(
            "status", "--stack-name", STACK, "--endpoint-url", server.url, "--max-attempts", "2"
        )
        requests = server.requests
    assert code == ExitCode.SUCCESS, text
    assert "Status: UPDATE_COMPLETE" in text
    assert requests == 3  # DescribeStacks twice (one retry), ListChangeSets once


NETWORK_ERRORS: list[Callable[[], Exception]] = [
    lambda: EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com"),
    lambda: ConnectionClosedError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com"),
    lambda: ReadTimeoutError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com"),
    lambda: ResponseParserError("Unable to parse response (syntax error), invalid XML received"),
]


class Breaker:
    """Raises a network error from the `start`-th API call on (for `count` calls, or for good)."""

    def __init__(
        self,
        make: Callable[[], Exception],
        start: int,
        count: int | None = None,
        operation: str | None = None,
    ) -> None:
        self.make, self.start, self.count, self.operation, self.seen = make, start, count, operation, 0

    def install(self, h: Harness) -> None:
        # The same event and wildcard as Stubber's handler, registered before it: runs first, and a raise leaves
        # the stubbed response in the queue.
        h.cfn.meta.events.register("before-call.*.*", self)

    def __call__(self, model: Any, **_: Any) -> None:
        if self.operation and model.name != self.operation:
            return
        self.seen += 1
        ending = None if self.count is None else self.start + self.count
        if self.seen >= self.start and (ending is None or self.seen < ending):
            raise self.make()


def queue_successful_update(h: Harness) -> None:
    h.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    h.expect_no_old_change_sets()
    h.expect_create_change_set("UPDATE")
    h.expect_change_set_status("CREATE_COMPLETE")
    h.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    h.expect_successful_execution()


def run_without_pending_check(h: Harness, *argv: str) -> int:
    env = cli.Environment(
        clients=h._clients,
        sleep=h.clock.sleep,
        clock=h.clock.time,
        stdout=h.stdout,
        stderr=h.stderr,
        stdout_is_tty=False,
        stdin_is_tty=False,
    )
    with h.stub:
        return cli.main(list(argv), env)


CALLS_OF_AN_UPDATE = 11  # DescribeStacks ... the final GetStackPolicy of queue_successful_update


@pytest.mark.parametrize("make", NETWORK_ERRORS)
@pytest.mark.parametrize("start", range(1, CALLS_OF_AN_UPDATE + 1))
def test_a_network_error_that_lasts_from_any_call_on_exits_5_never_1(
    harness: Harness, make: Callable[[], Exception], start: int
) -> None:
    queue_successful_update(harness)
    Breaker(make, start).install(harness)
    code = run_without_pending_check(harness, *harness.deploy_args())
    assert code == ExitCode.AWS_ERROR, harness.errors
    assert "Traceback" not in harness.errors
    assert re.search(r"run the same command again: deploy.py deploy --stack-name app", harness.errors)


def test_all_calls_of_an_update_are_counted_by_the_table_above(harness: Harness) -> None:
    queue_successful_update(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    assert len(harness.calls) == CALLS_OF_AN_UPDATE


@pytest.mark.parametrize("make", NETWORK_ERRORS)
def test_network_errors_while_polling_slow_the_loop_down_and_the_deploy_succeeds(
    harness: Harness, make: Callable[[], Exception]
) -> None:
    queue_successful_update(harness)
    # The change set's first two polls fail, and the stack's first three polls after the prime.
    Breaker(make, 1, 2, "DescribeChangeSet").install(harness)
    Breaker(make, 2, 3, "DescribeStackEvents").install(harness)
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS
    notices = [line for line in harness.output.splitlines() if line.startswith("Slowing down:")]
    assert len(notices) == 5
    assert f"the connection to AWS failed ({type(make()).__name__})" in notices[0]


def test_transient_counter_starts_again_after_every_good_poll(harness: Harness) -> None:
    # Twelve failed polls in all (more than the six in a row that end a wait), but never more than two in a row.
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    for _ in range(6):
        harness.stub.add_client_error("describe_change_set", "Throttling", "Rate exceeded", 400)
        harness.stub.add_client_error("describe_change_set", "Throttling", "Rate exceeded", 400)
        harness.expect_change_set_status("CREATE_IN_PROGRESS")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    harness.expect_successful_execution()
    assert harness.run(*harness.deploy_args()) == ExitCode.SUCCESS


def test_a_lasting_network_error_while_polling_exits_5_with_the_resume_command(harness: Harness) -> None:
    queue_successful_update(harness)
    Breaker(NETWORK_ERRORS[2], 2, None, "DescribeStackEvents").install(harness)
    code = run_without_pending_check(harness, *harness.deploy_args())
    assert code == ExitCode.AWS_ERROR
    assert "6 throttled or failed polls in a row" in harness.errors
    assert "the stack operation is in progress" in harness.errors
    assert "to resume, run the same command again: deploy.py deploy --stack-name app" in harness.errors


# ---- SIGTERM ----------------------------------------------------------------------------------------------------


@pytest.fixture
def sigterm_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def terminate_when(harness: Harness, ready: Callable[[], bool]) -> None:
    sleep = harness.clock.sleep

    def sleep_or_terminate(seconds: float) -> None:
        if ready():
            os.kill(os.getpid(), signal.SIGTERM)  # what CI sends when a job is cancelled
        sleep(seconds)

    harness.clock.sleep = sleep_or_terminate  # type: ignore[method-assign]


def test_sigterm_while_the_change_set_is_created_exits_143_and_says_how_to_execute_it(
    harness: Harness, sigterm_restored: None
) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    terminate_when(harness, lambda: "CreateChangeSet" in harness.calls)
    assert harness.run(*harness.deploy_args()) == ExitCode.TERMINATED
    assert harness.errors.startswith("terminated (SIGTERM): the stack was left alone")
    assert re.search(
        r"change set tap-deploy-update-[0-9a-f]{32} was created and not executed", harness.errors
    )
    assert re.search(
        r"to execute it: deploy.py execute --stack-name app --change-set-name tap-deploy-update-",
        harness.errors,
    )
    assert harness.mutating_calls == ["CreateChangeSet"]


def test_sigterm_while_the_stack_operation_runs_exits_143_and_leaves_it_running(
    harness: Harness, sigterm_restored: None
) -> None:
    queue_successful_update(harness)
    # Leave only what was read before the signal: prime, execute and the first event poll.
    terminate_when(harness, lambda: harness.calls.count("DescribeStackEvents") >= 2)
    code = run_without_pending_check(harness, *harness.deploy_args())
    assert code == ExitCode.TERMINATED
    assert "the stack operation is in progress in CloudFormation" in harness.errors
    assert "to resume, run the same command again: deploy.py deploy --stack-name app" in harness.errors
    assert harness.mutating_calls == ["CreateChangeSet", "ExecuteChangeSet"]


def test_the_sigterm_handler_is_removed_when_the_command_ends(
    harness: Harness, sigterm_restored: None
) -> None:
    marker = signal.getsignal(signal.SIGTERM)
    harness.expect_stack(None)
    harness.run("status", "--stack-name", STACK)
    assert signal.getsignal(signal.SIGTERM) is marker


@pytest.mark.parametrize("command", ["status", "delete"])
def test_no_credentials_is_an_aws_error_not_a_bug(command: str, no_credentials: None) -> None:
    with ErrorPageServer() as server:
        extra = ["--yes"] if command == "delete" else []
        code, text = run_real_cli(command, "--stack-name", STACK, *extra, "--endpoint-url", server.url)
        requests = server.requests
    assert code == ExitCode.AWS_ERROR, text
    assert "Unable to locate credentials" in text and "Traceback" not in text
    assert requests == 0


def test_an_endpoint_that_refuses_connections_is_an_aws_error(aws_env: None) -> None:
    with ErrorPageServer() as server:
        url = server.url  # a loopback port that is closed once the server is gone
    code, text = run_real_cli("status", "--stack-name", STACK, "--endpoint-url", url, "--max-attempts", "1")
    assert code == ExitCode.AWS_ERROR, text
    assert "Could not connect to the endpoint URL" in text


class HangingServer:
    """A loopback endpoint that accepts a request and does not answer until released: a call that blocks."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.release = threading.Event()
        self.http = LoopbackServer(self._hang)
        self.url = self.http.url

    def _hang(self, _: bytes) -> None:
        self.received.set()
        self.release.wait(30)

    def close(self) -> None:
        self.release.set()
        self.http.close()


def test_a_real_sigterm_to_deploy_py_exits_143_with_the_resume_command(aws_env: None, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text(json.dumps(SMALL_TEMPLATE))
    server = HangingServer()
    args = ["deploy", "--stack-name", STACK, "--template-file", str(template), "--endpoint-url", server.url]
    try:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy.py"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert server.received.wait(30), "deploy.py never called the endpoint"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        server.close()
    assert process.returncode == ExitCode.TERMINATED, stderr
    assert stderr.startswith("terminated (SIGTERM): the stack was left alone"), stderr
    resume = stderr.split("to resume, run the same command again: ", 1)[1].splitlines()[0]
    argv = shlex.split(resume)  # pasteable: the interpreter that ran it, then the user's arguments
    assert Path(ROOT, argv[0]).absolute() == Path(sys.executable).absolute(), resume
    assert argv[1:] == ["deploy.py", *args], resume
    assert "Traceback" not in stderr

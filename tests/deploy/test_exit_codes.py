"""Exit codes say what a rerun can do: missing drift detection is 12 at once, expired credentials say to refresh
them, and "run the same command again" is printed only where running it again can succeed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deployer import cli
from deployer.errors import ExitCode
from tests.deploy.conftest import STACK, Harness
from tests.deploy.test_network_faults import no_credentials, run_real_cli  # noqa: F401 (a fixture)
from tests.loopback_http import LoopbackServer

pytestmark = pytest.mark.deploy

NOT_IMPLEMENTED_XML = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>NotImplemented</Code>"
    b"<Message>DetectStackDrift is not implemented</Message></Error><RequestId>r</RequestId></ErrorResponse>"
)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("NotImplemented", 501),
        ("InvalidAction", 400),
        ("UnsupportedOperation", 400),
        ("InternalFailure", 501),
    ],
)
def test_an_endpoint_without_drift_detection_is_exit_12_saying_so(
    harness: Harness, code: str, status: int
) -> None:
    harness.stub.add_client_error(
        "detect_stack_drift", code, "not here", status, expected_params={"StackName": STACK}
    )
    assert harness.run("drift", "--stack-name", STACK) == ExitCode.DRIFT_UNKNOWN
    assert "does not implement drift detection" in harness.errors
    assert "run the same command again" not in harness.errors


class NotImplementedServer:
    """A loopback endpoint that answers every request 501 NotImplemented, and counts the requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.http = LoopbackServer(self._answer)
        self.url = self.http.url

    def _answer(self, _: bytes) -> tuple[int, str, bytes]:
        self.requests += 1
        return 501, "text/xml", NOT_IMPLEMENTED_XML


@pytest.fixture
def not_implemented_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotImplementedServer]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = NotImplementedServer()
    yield server
    server.http.close()


def test_drift_against_an_endpoint_answering_501_asks_once(
    not_implemented_server: NotImplementedServer,
) -> None:
    import io

    err = io.StringIO()
    env = cli.Environment(sleep=lambda _: None, stdout=io.StringIO(), stderr=err, stdout_is_tty=False)
    code = cli.main(["drift", "--stack-name", STACK, "--endpoint-url", not_implemented_server.url], env)
    assert code == ExitCode.DRIFT_UNKNOWN, err.getvalue()
    assert not_implemented_server.requests == 1  # not botocore's eight attempts
    assert "does not implement drift detection" in err.getvalue()


@pytest.mark.parametrize(
    "code", ["ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"]
)
def test_expired_or_unknown_credentials_say_to_refresh_them(harness: Harness, code: str) -> None:
    harness.stub.add_client_error(
        "describe_stacks", code, "The security token included in the request is expired", 403
    )
    assert harness.run("status", "--stack-name", STACK) == ExitCode.AWS_ERROR
    assert "refresh the credentials" in harness.errors and "aws sso login" in harness.errors


@pytest.mark.usefixtures("no_credentials")
def test_no_credentials_at_all_say_to_refresh_them() -> None:
    # Port 9 on loopback: botocore finds no credentials before it would send anything.
    code, text = run_real_cli("status", "--stack-name", STACK, "--endpoint-url", "http://127.0.0.1:9")
    assert code == ExitCode.AWS_ERROR, text
    assert text.startswith("error: no usable AWS credentials while")
    assert "refresh the credentials" in text


def test_a_refused_request_does_not_suggest_running_the_same_command_again(harness: Harness) -> None:
    harness.expect_stack(None)
    harness.stub.add_client_error(
        "create_change_set",
        "AccessDenied",
        "User is not authorized to perform cloudformation:CreateChangeSet",
        403,
    )
    assert harness.run(*harness.deploy_args("--skip-preflight")) == ExitCode.AWS_ERROR
    assert "lack this permission" in harness.errors
    assert "run the same command again" not in harness.errors


def test_a_server_error_that_outlasted_the_retries_suggests_running_it_again(harness: Harness) -> None:
    harness.expect_stack(None)
    harness.stub.add_client_error("create_change_set", "InternalFailure", "internal error", 500)
    assert harness.run(*harness.deploy_args("--skip-preflight")) == ExitCode.AWS_ERROR
    assert "run the same command again: deploy.py deploy --stack-name app" in harness.errors

"""The one place that builds AWS clients, and the one place that classifies AWS errors.

Retries are botocore's own (standard or adaptive mode): it already backs off on throttling, 5xx answers and dropped
connections with jitter, so the deployer does not wrap calls in a retry loop of its own. Only the polling loop goes
further: when an error outlasts botocore's retries there, the loop slows down instead of failing (deployer.waiting).

One gap in botocore: a 5xx whose body is neither XML nor an empty / `<html>` page (a proxy's `<!DOCTYPE html>` or
plain-text 500) makes its parser raise ResponseParserError, which is not retried at all (the parse happens after
botocore's retry decision point) and is not even a BotoCoreError. The factory's `before-parse` hook turns such a body
into the empty 5xx that botocore already treats as a generic, retryable server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from xml.etree import ElementTree

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.loaders import Loader
from botocore.parsers import ResponseParserError

from cfnspec.limits import DEFAULT_REGION
from deployer.errors import AwsApiError, BadInput, DeployError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client

DEFAULT_MAX_ATTEMPTS = 8
RetryMode = Literal["standard", "adaptive"]

# CloudFormation and S3 answer throttling with these codes; botocore retries them, and so does the polling loop.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)


# The endpoint does not implement the operation: retrying or polling again cannot help.
NOT_IMPLEMENTED_CODES = frozenset(
    {"NotImplemented", "NotImplementedException", "InvalidAction", "UnsupportedOperation", "UnknownOperation"}
)
# The credentials are there but expired or unknown to AWS: a new set is needed, not another try.
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "RequestExpired",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
    }
)
# Refused for want of a permission, in each service's wording (IAM and S3 AccessDenied, KMS and ACM
# AccessDeniedException, EC2 UnauthorizedOperation, SNS AuthorizationError). The CLI's hint, preflight's WARN and the
# DescribeEvents read all ask is_access_denied, so a new wording is added here once.
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
)
# Raised by botocore before any request when no usable credentials can be found or refreshed.
CREDENTIAL_ERRORS: tuple[type[Exception], ...] = (
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)
REFRESH_CREDENTIALS = (
    "refresh the credentials (`aws sso login`, new AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, "
    "or --profile NAME), then run the same command again"
)


@dataclass(frozen=True)
class ClientSettings:
    region: str = DEFAULT_REGION
    profile: str | None = None
    endpoint_url: str | None = None
    retry_mode: RetryMode = "standard"
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


def botocore_config(settings: ClientSettings) -> Config:
    return Config(
        region_name=settings.region,
        # total_max_attempts counts the first try; botocore's "max_attempts" would count only the retries.
        retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        user_agent_extra="tap-deploy",
    )


def blank_unparsable_server_error(response_dict: dict[str, Any], **_: Any) -> None:
    """`before-parse` hook: a 5xx body that is not XML becomes the empty body botocore retries as a server error."""
    if int(response_dict.get("status_code") or 0) < 500:
        return
    body = response_dict.get("body") or b""
    if not isinstance(body, bytes | bytearray) or not body.strip():
        return
    try:
        is_page = ElementTree.fromstring(body).tag.lower().endswith("html")
    except ElementTree.ParseError:
        is_page = True
    if is_page:
        response_dict["body"] = b""


def add_fault_hooks(client: Any) -> Any:
    """What every client of the tool gets on top of botocore's retries (tests call it on their stubbed clients)."""
    client.meta.events.register("before-parse.*.*", blank_unparsable_server_error)
    return client


# botocore data loaders by data path (AWS_DATA_PATH), one per process: a loader caches the parsed service models
# (megabytes of JSON), so a factory built per command does not parse them again. Only immutable model data lives
# in a loader; credentials and configuration stay with each factory's own session.
_LOADERS: dict[str | None, Loader] = {}


def _new_session(settings: ClientSettings) -> boto3.Session:
    core = botocore.session.get_session()
    if settings.profile is not None:
        core.set_config_variable("profile", settings.profile)  # data_path may come from the profile's config
    data_path = core.get_config_variable("data_path")
    loader = _LOADERS.get(data_path)
    if loader is None:
        loader = _LOADERS[data_path] = core.get_component("data_loader")
    else:
        core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core, profile_name=settings.profile, region_name=settings.region)
    # boto3 appends its data directory to the loader's search paths each time: keep each path once.
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


class ClientFactory:
    """Builds every client from one session, so region, profile, endpoint and retries never disagree."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._session = _new_session(settings)
        self._config = botocore_config(settings)

    def cloudformation(self) -> CloudFormationClient:
        client = self._session.client(
            "cloudformation", config=self._config, endpoint_url=self.settings.endpoint_url
        )
        return add_fault_hooks(client)

    def s3(self) -> S3Client:
        client = self._session.client("s3", config=self._config, endpoint_url=self.settings.endpoint_url)
        return add_fault_hooks(client)

    def client(self, service_name: str) -> Any:
        """Any other service's client (preflight reads KMS, IAM, EC2, ...), with the same session and settings."""
        return self._session.client(
            service_name,  # type: ignore[call-overload]
            config=self._config,
            endpoint_url=self.settings.endpoint_url,
        )


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def error_message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", "")) or str(err)


def http_status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_throttling(err: ClientError) -> bool:
    return error_code(err) in THROTTLING_CODES or http_status(err) == 429


def is_not_implemented(err: ClientError) -> bool:
    """The endpoint does not offer this operation at all (an emulator, a partition without the feature)."""
    return error_code(err) in NOT_IMPLEMENTED_CODES or http_status(err) == 501


def is_access_denied(err: ClientError) -> bool:
    """The request was refused for want of a permission (expired or unknown credentials are not this)."""
    if is_expired_credentials(err):
        return False
    return error_code(err) in ACCESS_DENIED_CODES or "not authorized" in error_message(err)


def is_expired_credentials(err: ClientError) -> bool:
    return error_code(err) in CREDENTIAL_CODES


def is_transient(err: ClientError) -> bool:
    """Throttling or a server-side error: worth another try later, not a verdict on the deployment."""
    if is_not_implemented(err):  # a 501 never turns into an answer by asking again
        return False
    return is_throttling(err) or http_status(err) >= 500


# Errors below the API: the connection dropped or timed out, or an answer that is not AWS's (a proxy's error page).
NETWORK_ERRORS: tuple[type[Exception], ...] = (ConnectionError, HTTPClientError, ResponseParserError)


def is_transient_error(err: Exception) -> bool:
    """Any error worth polling again for: a transient ClientError, or a network / unparsable-answer error."""
    if isinstance(err, ClientError):
        return is_transient(err)
    return isinstance(err, NETWORK_ERRORS)


def is_stack_missing(err: ClientError) -> bool:
    return error_code(err) == "ValidationError" and "does not exist" in error_message(err)


def api_error(err: ClientError, doing: str) -> AwsApiError:
    """Turn a ClientError that outlasted botocore's retries into the CLI's one-line error.

    Whether running the same command again can succeed is decided here, once: after throttling or a server error
    it can; after a refused request (a permission, a validation error, an operation the endpoint lacks) it cannot
    until something else changes, so the CLI does not suggest it."""
    code = error_code(err)
    message = f"AWS error while {doing}: {code}: {error_message(err)}"
    if is_expired_credentials(err):
        return AwsApiError(message, hint=f"the credentials are expired or not valid: {REFRESH_CREDENTIALS}")
    if is_not_implemented(err):
        return AwsApiError(
            message,
            hint="this endpoint does not implement the operation (an emulator?); use one that does",
            rerun_helps=False,
        )
    if is_throttling(err):
        return AwsApiError(
            message,
            hint="AWS kept throttling after the retries: run again later, or raise --max-attempts / "
            "--retry-mode adaptive",
        )
    if is_transient(err):
        return AwsApiError(message)
    hint = "the credentials in use lack this permission: check --profile / --role-arn and the IAM policy"
    return AwsApiError(message, hint=hint if is_access_denied(err) else None, rerun_helps=False)


def network_error(err: Exception, doing: str) -> AwsApiError:
    """Below the API (no credentials, endpoint unreachable, connection reset, a proxy's error page): exit 5 too."""
    if isinstance(err, ClientError):
        return api_error(err, doing)
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, CREDENTIAL_ERRORS):
        return AwsApiError(f"no usable AWS credentials while {doing}: {text}", hint=REFRESH_CREDENTIALS)
    if isinstance(err, ResponseParserError):
        text = f"the answer was not AWS's ({text[:160]})"
    return AwsApiError(f"AWS client error while {doing}: {text}")


def botocore_error(err: Exception, doing: str) -> DeployError:
    """Any botocore error as the CLI reports it: a profile that does not exist is bad input (exit 2), the rest is
    exit 5 (network_error). deploy.py's handler, StackSets and the manifest's per-stack runner all use it."""
    if isinstance(err, ProfileNotFound):
        hint = "list the profiles with `aws configure list-profiles`, or leave the profile out"
        return BadInput(str(err), hint=hint)
    return network_error(err, doing)


@contextmanager
def aws_call(doing: str) -> Iterator[None]:
    """Turn any AWS or network error raised inside the block into the CLI's one-line error about `doing`."""
    try:
        yield
    except (ClientError, BotoCoreError, ResponseParserError) as err:
        raise network_error(err, doing) from err

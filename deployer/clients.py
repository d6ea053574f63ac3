"""The one place that builds AWS clients, and the one place that classifies AWS errors.

Retries are botocore's own (standard or adaptive mode): it already backs off on throttling and 5xx answers with
jitter, so the deployer does not wrap calls in a retry loop of its own. Only the polling loop goes further: when an
error outlasts botocore's retries there, the loop slows down instead of failing (see deployer.waiting).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from cfnspec.limits import DEFAULT_REGION
from deployer.errors import AwsApiError

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


class ClientFactory:
    """Builds every client from one session, so region, profile, endpoint and retries never disagree."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
        self._config = botocore_config(settings)

    def cloudformation(self) -> CloudFormationClient:
        return self._session.client(
            "cloudformation", config=self._config, endpoint_url=self.settings.endpoint_url
        )

    def s3(self) -> S3Client:
        return self._session.client("s3", config=self._config, endpoint_url=self.settings.endpoint_url)

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


def is_transient(err: ClientError) -> bool:
    """Throttling or a server-side error: worth another try later, not a verdict on the deployment."""
    return is_throttling(err) or http_status(err) >= 500


def is_stack_missing(err: ClientError) -> bool:
    return error_code(err) == "ValidationError" and "does not exist" in error_message(err)


def api_error(err: ClientError, doing: str) -> AwsApiError:
    """Turn a ClientError that outlasted botocore's retries into the CLI's one-line error."""
    code = error_code(err)
    hint = None
    if is_throttling(err):
        hint = "AWS kept throttling after the retries: run again later, or raise --max-attempts / --retry-mode adaptive"
    elif code in {"AccessDenied", "AccessDeniedException"} or "not authorized" in error_message(err):
        hint = "the credentials in use lack this permission: check --profile / --role-arn and the IAM policy"
    return AwsApiError(f"AWS error while {doing}: {code}: {error_message(err)}", hint=hint)


@contextmanager
def aws_call(doing: str) -> Iterator[None]:
    """Turn any ClientError raised inside the block into the CLI's one-line error about `doing`."""
    try:
        yield
    except ClientError as err:
        raise api_error(err, doing) from err

"""Templates too big to pass inline go to S3 under a content-hash key and are passed as TemplateURL."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from cfnspec.limits import INLINE_TEMPLATE_LIMIT, S3_TEMPLATE_LIMIT
from deployer.clients import aws_call
from deployer.errors import BadInput
from deployer.inputs import utf8_size

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def needs_upload(body: str) -> bool:
    return utf8_size(body) > INLINE_TEMPLATE_LIMIT


def object_key(body: str, prefix: str | None) -> str:
    """Same bytes, same key: re-running uploads nothing new, and a change set's template is traceable."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    clean = (prefix or "").strip("/")
    return f"{clean}/{digest}.template.json" if clean else f"{digest}.template.json"


def check_upload_possible(body: str, bucket: str | None) -> None:
    """Raise before any AWS call when the template cannot be deployed as given."""
    size = utf8_size(body)
    if size > S3_TEMPLATE_LIMIT:
        raise BadInput(f"template is {size:,} bytes; the limit through S3 is {S3_TEMPLATE_LIMIT:,} bytes")
    if size > INLINE_TEMPLATE_LIMIT and not bucket:
        raise BadInput(
            f"template is {size:,} bytes, over the {INLINE_TEMPLATE_LIMIT:,}-byte inline limit",
            hint="pass --s3-bucket (and optionally --s3-prefix) so it can be uploaded and passed as TemplateURL",
        )


def template_url(s3: S3Client, bucket: str, key: str) -> str:
    # Path-style URL on the client's own endpoint: correct for every AWS region and partition, and for an
    # --endpoint-url emulator. CloudFormation reads it with the deploying identity's permissions.
    endpoint = s3.meta.endpoint_url.rstrip("/")
    return f"{endpoint}/{bucket}/{key}"


def upload_template(s3: S3Client, body: str, bucket: str, prefix: str | None) -> str:
    key = object_key(body, prefix)
    with aws_call(f"uploading the template to s3://{bucket}/{key}"):
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
    return template_url(s3, bucket, key)

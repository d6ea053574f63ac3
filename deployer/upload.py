"""Templates too big to pass inline go to S3 under a content-hash key and are passed as TemplateURL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from cfnspec.limits import DEFAULT_REGION, INLINE_TEMPLATE_LIMIT, S3_TEMPLATE_LIMIT
from deployer.clients import api_error, aws_call, error_code, http_status, network_error
from deployer.errors import BadInput
from deployer.inputs import utf8_size
from deployer.regions import dns_suffix

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


def template_url(bucket: str, key: str, region: str) -> str:
    """S3's standard virtual-hosted URL, https://BUCKET.s3.REGION.amazonaws.com/KEY (amazonaws.com.cn in China):
    CloudFormation reads it with the deploying identity's permissions, and it names the bucket the same way for
    AWS and for an --endpoint-url emulator (an emulator's own http://127.0.0.1:PORT/BUCKET/KEY would not be read
    as S3 by CloudFormation). A name with dots cannot be a TLS host name, so it goes in the path instead."""
    host_suffix = f"s3.{region}.{dns_suffix(region)}"
    path = quote(key, safe="/")
    if "." in bucket:
        return f"https://{host_suffix}/{bucket}/{path}"
    return f"https://{bucket}.{host_suffix}/{path}"


def bucket_region(s3: S3Client, bucket: str) -> str:
    """HeadBucket before anything is uploaded or changed: a missing bucket is bad input (exit 2) with the command
    that creates it, instead of an upload error after an earlier step already ran."""
    region = s3.meta.region_name or DEFAULT_REGION
    try:
        answer = s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        if http_status(err) == 404 or error_code(err) in {"404", "NoSuchBucket", "NotFound"}:
            raise _missing_bucket(bucket, region) from err
        if http_status(err) == 403:
            # It exists, but this identity may not list it (HeadBucket needs s3:ListBucket, the upload only
            # s3:PutObject): let the upload decide, in the region S3 names in its answer.
            headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            return str(headers.get("x-amz-bucket-region") or region)
        raise api_error(err, f"checking the template bucket {bucket}") from err
    except (BotoCoreError, ResponseParserError) as err:
        raise network_error(err, f"checking the template bucket {bucket}") from err
    return str(answer.get("BucketRegion") or region)


def check_template_bucket(s3: Callable[[], S3Client], body: str, bucket: str | None) -> None:
    """The bucket check of a run that will upload, made before its first change (cleanup, preflight, upload)."""
    if needs_upload(body) and bucket:
        bucket_region(s3(), bucket)


def upload_template(s3: S3Client, body: str, bucket: str | None, prefix: str | None) -> str:
    check_upload_possible(
        body, bucket
    )  # the inputs were checked already; a caller that skipped it gets exit 2
    if bucket is None:
        raise BadInput("no --s3-bucket to upload the template to")
    region = bucket_region(s3, bucket)
    key = object_key(body, prefix)
    with aws_call(f"uploading the template to s3://{bucket}/{key}"):
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
        except ClientError as err:
            # Without s3:ListBucket, HeadBucket answers 403 for a missing bucket too: this is where it shows.
            if error_code(err) == "NoSuchBucket":
                raise _missing_bucket(bucket, region) from err
            raise
    return template_url(bucket, key, region)


def _missing_bucket(bucket: str, region: str) -> BadInput:
    return BadInput(
        f"the template bucket {bucket} does not exist; the template was not uploaded",
        hint=f"create it with `aws s3 mb s3://{bucket} --region {region}`, or pass --s3-bucket with a bucket you own",
    )

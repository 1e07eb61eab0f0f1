"""Reading a date-partitioned S3 prefix (`s3://bucket/prefix/dt=2011-05-01/part-0.csv`) through boto3.

Settings: the bucket and prefix come from `collect.source`; the endpoint (for S3-compatible stores such as SeaweedFS
or MinIO) and region from `collect.s3` in params.yaml, else from the environment (`AWS_ENDPOINT_URL`, `AWS_REGION`)
as boto3 reads it. Credentials come only from boto3's chain: environment variables, AWS profiles
(`AWS_PROFILE`), instance or container roles; never from the repository.

Every object under the prefix whose name has a known data format is a partition; objects are listed page by page
(`list_objects_v2` returns at most 1000 keys per call) and taken in key order, which for `dt=YYYY-MM-DD` names is
date order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.core.errors import PipelineError
from tasks.data.source_file import DATA_SUFFIXES, SourceFile

LIST_PAGE_SIZE = 1000
# Errors that mean "who you are" or "what you may do" is wrong, in words a user can act on.
_AUTH_ERRORS = {
    "InvalidAccessKeyId": "the access key id is not known to the server (check AWS_ACCESS_KEY_ID or the profile)",
    "SignatureDoesNotMatch": "the secret key does not match the access key id (check AWS_SECRET_ACCESS_KEY)",
    "AccessDenied": "the credentials are valid but not allowed to read it (check the bucket policy / IAM role)",
    "ExpiredToken": "the session token has expired (refresh AWS_SESSION_TOKEN or log in again)",
    "InvalidToken": "the session token is not valid (check AWS_SESSION_TOKEN)",
}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """`s3://bucket/some/prefix/` -> S3Location('bucket', 'some/prefix/')."""
        rest = uri.removeprefix("s3://")
        bucket, _, prefix = rest.partition("/")
        if not uri.startswith("s3://") or not bucket:
            raise PipelineError(f"collect.source: {uri!r} is not an S3 URI like s3://bucket/prefix/")
        return cls(bucket, prefix)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    etag: str
    size: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str | None = None


def make_client(settings: S3Settings) -> Any:
    """A boto3 S3 client; `None` settings fall through to boto3's environment and profile lookup."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60)
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config)


def explain(err: Exception, what: str) -> PipelineError:
    """Turn a boto3/botocore error about `what` into one message naming the cause."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    if isinstance(err, NoCredentialsError):
        return PipelineError(
            f"{what}: no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
    if isinstance(err, PartialCredentialsError | ProfileNotFound):
        return PipelineError(f"{what}: AWS credentials are incomplete: {err}")
    if isinstance(err, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return PipelineError(f"{what}: cannot reach the S3 endpoint ({err}); check collect.s3.endpoint_url")
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code", ""))
        if code in _AUTH_ERRORS:
            return PipelineError(f"{what}: access refused ({code}): {_AUTH_ERRORS[code]}")
        if code in ("NoSuchBucket", "404"):
            return PipelineError(f"{what}: the bucket does not exist ({code})")
        if code == "NoSuchKey":
            return PipelineError(f"{what}: the object does not exist (it was deleted after listing?)")
        return PipelineError(f"{what}: S3 error {code}: {err.response.get('Error', {}).get('Message', err)}")
    return PipelineError(f"{what}: {type(err).__name__}: {err}")


def list_partitions(client: Any, location: S3Location) -> list[S3Object]:
    """Every data object under the prefix, in key order, listed page by page."""
    from botocore.exceptions import BotoCoreError, ClientError

    objects: list[S3Object] = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=location.bucket, Prefix=location.prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.lower().endswith(DATA_SUFFIXES):
                    objects.append(S3Object(location.bucket, key, item["ETag"].strip('"'), int(item["Size"])))
    except (BotoCoreError, ClientError) as err:
        raise explain(err, f"collect.source {location.uri}") from None
    return sorted(objects, key=lambda o: o.key)


def fetch_object(client: Any, obj: S3Object) -> SourceFile:
    """Download one object's bytes."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = client.get_object(Bucket=obj.bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')["Body"]
        return SourceFile(obj.uri, body.read(), etag=obj.etag)
    except (BotoCoreError, ClientError) as err:
        raise explain(err, obj.uri) from None

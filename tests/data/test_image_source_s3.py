"""Image collect from an S3 prefix on a real S3 server (SeaweedFS on loopback, SigV4 enforced)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipelines.fashion_mnist import PROBLEM
from tasks.core.errors import PipelineError
from tasks.kinds.image_source import fetch_bytes, read_image_source

if TYPE_CHECKING:
    from tests.data.conftest import S3Server

SAMPLE = Path(__file__).resolve().parents[2] / "data/sources/fashion-mnist-sample"


def test_reads_the_idx_files_under_an_s3_prefix(aws_env: S3Server, bucket: str) -> None:
    client = aws_env.client()
    for path in SAMPLE.glob("*-ubyte.gz"):
        client.put_object(Bucket=bucket, Key=f"fmnist/v1/{path.name}", Body=path.read_bytes())

    def fetch(uri: str) -> bytes:
        return fetch_bytes(uri, aws_env.endpoint_url, "us-east-1")

    table, files = read_image_source(f"s3://{bucket}/fmnist/v1/", PROBLEM, fetch)
    local, _ = read_image_source(str(SAMPLE), PROBLEM)
    assert table.equals(local)
    assert files[0]["uri"] == f"s3://{bucket}/fmnist/v1/train-images-idx3-ubyte.gz"


def test_a_missing_object_is_named(aws_env: S3Server, bucket: str) -> None:
    with pytest.raises(PipelineError, match=rf"collect.source: could not read s3://{bucket}/none/train-images"):
        read_image_source(f"s3://{bucket}/none", PROBLEM, lambda uri: fetch_bytes(uri, aws_env.endpoint_url))

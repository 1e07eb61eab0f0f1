"""Partitioned Parquet on S3 (`s3://bucket/prefix/dt=YYYY-MM-DD/part-0.parquet` on a real SeaweedFS server, SigV4
enforced) read through fsspec by tasks/scale/partitions.read_table: the same partitions, in the same order, with the
same rows and dtypes (the hive `dt` column included) as the same files read from a local folder. Slow variant: the
partitions streamed by the workers of a LocalCluster (tasks/scale/partitions.stream)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from tasks.scale.partitions import read_table, stream

if TYPE_CHECKING:
    from tests.data.conftest import S3Server

pytestmark = pytest.mark.timeout(300)
DAYS = range(1, 4)  # three daily partitions, each of several row groups (one dask partition per row group)


def _same_files_on_s3_and_here(server: S3Server, bucket: str, frame: pd.DataFrame, root: Path) -> dict[str, Any]:
    client = server.client()
    for day in DAYS:
        date = (pd.Timestamp("2011-01-01") + pd.Timedelta(days=day - 1)).date()
        key = f"bike/dt={date}/part-0.parquet"
        body = frame[frame["day"] == day].to_parquet(index=False, row_group_size=12)
        client.put_object(Bucket=bucket, Key=key, Body=body)
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(body)
    # credentials given, not only in this process's environment: a Dask client another test of this process left
    # current makes read_table gather the row groups on its workers, whose environment has no test credentials
    return {
        "key": server.access_key,
        "secret": server.secret_key,
        "client_kwargs": {"endpoint_url": server.endpoint_url},
    }


def _partitions(table: Any) -> list[pd.DataFrame]:
    import dask

    with dask.config.set(scheduler="synchronous"):
        return [part.compute() for part in table.to_delayed()]


def test_partitioned_parquet_on_s3_reads_as_the_same_partitions_as_locally(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path
) -> None:
    options = _same_files_on_s3_and_here(aws_env, bucket, bike_frame, tmp_path)
    remote = read_table(f"s3://{bucket}/bike/", storage_options=options)
    local = read_table(tmp_path / "bike")
    assert remote.npartitions == local.npartitions > len(DAYS)  # row groups, not just files
    assert list(remote.columns) == list(local.columns) and "dt" in remote.columns
    remote_parts, local_parts = _partitions(remote), _partitions(local)
    for remote_part, local_part in zip(remote_parts, local_parts, strict=True):
        pd.testing.assert_frame_equal(remote_part, local_part)
    rows = pd.concat(remote_parts, ignore_index=True).drop(columns="dt")
    days = bike_frame[bike_frame["day"].isin(DAYS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, days, check_dtype=False)  # every row, once, in date order


@pytest.mark.slow
def test_workers_stream_the_s3_partitions_as_the_local_ones(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """Fast counterpart: test_partitioned_parquet_on_s3_reads_as_the_same_partitions_as_locally (in this process)."""
    from distributed import Client, LocalCluster

    options = _same_files_on_s3_and_here(aws_env, bucket, bike_frame, tmp_path)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):  # the workers inherit the test server's credentials from the environment (aws_env)
        remote = list(stream(client, read_table(f"s3://{bucket}/bike/", storage_options=options)))
        local = list(stream(client, read_table(tmp_path / "bike")))
    assert len(remote) == len(local) > len(DAYS)
    for remote_part, local_part in zip(remote, local, strict=True):
        pd.testing.assert_frame_equal(remote_part, local_part)

"""collect from a date-partitioned S3 prefix on a real S3 server (SeaweedFS on loopback, SigV4 enforced)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from pipelines import load_problem
from tasks.core.errors import PipelineError
from tasks.data import s3_source
from tasks.data.sources import SourceFile
from tasks.kinds.table_source import CollectSettings, collect
from tests.workspace_params import copy_params, set_params
from tests.workspaces import committed_yaml, export_files

if TYPE_CHECKING:
    from tests.data.conftest import S3Server

REPO = Path(__file__).resolve().parents[2]
PROBLEM = load_problem("bike_demand")
AS_OF = pd.Timestamp("2011-12-31")


def upload_day(client: Any, bucket: str, frame: pd.DataFrame, day: int, fmt: str = "csv") -> str:
    """Put the rows of one day of year as `bike/dt=YYYY-MM-DD/part-0.<fmt>`; return the key."""
    date = (pd.Timestamp("2011-01-01") + pd.Timedelta(days=day - 1)).date()
    rows = frame[frame["day"] == day]
    key = f"bike/dt={date}/part-0.{fmt}"
    if fmt == "csv":
        body = rows.to_csv(index=False).encode()
    elif fmt == "parquet":
        body = rows.to_parquet(index=False)
    else:
        body = rows.to_json(orient="records", lines=True).encode()
    client.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def settings(bucket: str, server: S3Server, **overrides: object) -> CollectSettings:
    base = CollectSettings(source=f"s3://{bucket}/bike/", as_of=AS_OF, endpoint_url=server.endpoint_url)
    return CollectSettings(**{**base.__dict__, **overrides})


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Keys downloaded by collect, in order."""
    keys: list[str] = []
    real = s3_source.fetch_object

    def recording(client: Any, obj: s3_source.S3Object) -> SourceFile:
        keys.append(obj.key)
        return real(client, obj)

    monkeypatch.setattr(s3_source, "fetch_object", recording)
    return keys


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_second_collection_fetches_exactly_the_new_partition_and_equals_a_full_collection(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path, fetched: list[str]
) -> None:
    client = aws_env.client()
    first = [upload_day(client, bucket, bike_frame, day) for day in (1, 2, 3)]
    out = tmp_path / "raw"

    assert collect(settings(bucket, aws_env), PROBLEM, out) is True
    assert fetched == first
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["uri"] for s in manifest["sources"]] == [f"s3://{bucket}/{k}" for k in first]

    new_key = upload_day(client, bucket, bike_frame, 4, fmt="parquet")
    fetched.clear()
    assert collect(settings(bucket, aws_env), PROBLEM, out) is True
    assert fetched == [new_key]

    full = tmp_path / "full"
    fetched.clear()
    collect(settings(bucket, aws_env, incremental=False), PROBLEM, full)
    assert len(fetched) == 4
    incremental_frame, full_frame = pd.read_parquet(out / "data.parquet"), pd.read_parquet(full / "data.parquet")
    pd.testing.assert_frame_equal(incremental_frame, full_frame)
    assert sha(out / "data.parquet") == sha(full / "data.parquet")
    expected_rows = int(bike_frame["day"].isin([1, 2, 3, 4]).sum())
    assert len(incremental_frame) == expected_rows
    assert incremental_frame["timestamp"].is_monotonic_increasing


def test_rerun_with_nothing_new_fetches_nothing_and_leaves_raw_untouched(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path, fetched: list[str]
) -> None:
    client = aws_env.client()
    for day in (10, 11):
        upload_day(client, bucket, bike_frame, day, fmt="jsonl")
    out = tmp_path / "raw"
    collect(settings(bucket, aws_env), PROBLEM, out)
    before = {p.name: (sha(p), p.stat().st_mtime_ns) for p in out.iterdir()}
    fetched.clear()

    assert collect(settings(bucket, aws_env), PROBLEM, out) is False
    assert fetched == []
    assert {p.name: (sha(p), p.stat().st_mtime_ns) for p in out.iterdir()} == before


def test_listing_follows_pages(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = aws_env.client()
    keys = [upload_day(client, bucket, bike_frame, day) for day in range(20, 27)]
    client.put_object(Bucket=bucket, Key="bike/_SUCCESS", Body=b"")  # not a data file: ignored
    monkeypatch.setattr(s3_source, "LIST_PAGE_SIZE", 2)

    listed = s3_source.list_partitions(
        s3_source.make_client(s3_source.S3Settings(aws_env.endpoint_url)), s3_source.S3Location(bucket, "bike/")
    )

    assert [o.key for o in listed] == keys


def test_partition_changed_after_collection_is_an_error_naming_it(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path
) -> None:
    client = aws_env.client()
    key = upload_day(client, bucket, bike_frame, 5)
    out = tmp_path / "raw"
    collect(settings(bucket, aws_env), PROBLEM, out)
    client.put_object(Bucket=bucket, Key=key, Body=bike_frame[bike_frame["day"] == 6].to_csv(index=False).encode())

    with pytest.raises(PipelineError, match=rf"changed since they were collected: \['s3://{bucket}/{key}'\]"):
        collect(settings(bucket, aws_env), PROBLEM, out)


@pytest.mark.parametrize(
    ("access_key", "secret_key", "message"),
    [
        (None, "not-the-secret", r"SignatureDoesNotMatch.*AWS_SECRET_ACCESS_KEY"),
        ("unknown-key-id", None, r"InvalidAccessKeyId.*AWS_ACCESS_KEY_ID"),
    ],
)
def test_wrong_credentials_give_a_clear_error(
    aws_env: S3Server,
    bucket: str,
    bike_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    access_key: str | None,
    secret_key: str | None,
    message: str,
) -> None:
    upload_day(aws_env.client(), bucket, bike_frame, 7)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key or aws_env.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key or aws_env.secret_key)

    with pytest.raises(PipelineError, match=rf"s3://{bucket}/bike/: access refused \({message}"):
        collect(settings(bucket, aws_env), PROBLEM, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_missing_credentials_and_missing_bucket_are_named(
    aws_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PipelineError, match=r"s3://no-such-bucket/bike/: the bucket does not exist"):
        collect(settings("no-such-bucket", aws_env), PROBLEM, tmp_path / "raw")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(PipelineError, match=r"no AWS credentials found"):
        collect(settings("no-such-bucket", aws_env), PROBLEM, tmp_path / "raw")


def test_collect_cli_reports_wrong_secret_without_traceback(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path
) -> None:
    upload_day(aws_env.client(), bucket, bike_frame, 8)
    copy_params(tmp_path)
    set_params(tmp_path, {"collect.source": f"s3://{bucket}/bike/", "collect.s3.endpoint_url": aws_env.endpoint_url})
    env = dict(os.environ, AWS_SECRET_ACCESS_KEY="wrong", PYTHONPATH=str(REPO))

    done = subprocess.run(
        [sys.executable, "-m", "tasks.data.collect"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        f"[collect] FAILED: collect.source s3://{bucket}/bike/: access refused (SignatureDoesNotMatch)" in done.stderr
    )
    assert not (tmp_path / "data" / "raw").exists()


def test_collected_partitions_read_back_like_the_source(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path
) -> None:
    client = aws_env.client()
    upload_day(client, bucket, bike_frame, 30, fmt="csv")
    rows = bike_frame[bike_frame["day"] == 31]
    client.put_object(Bucket=bucket, Key="bike/dt=2011-01-31/part-0.csv.gz", Body=_gzip(rows.to_csv(index=False)))
    out = tmp_path / "raw"
    collect(settings(bucket, aws_env), PROBLEM, out)

    got = pd.read_parquet(out / "data.parquet").drop(columns="timestamp")
    expected = bike_frame[bike_frame["day"].isin([30, 31])].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def _gzip(text: str) -> bytes:
    import gzip

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as stream:
        stream.write(text.encode())
    return buffer.getvalue()


def test_dvc_repro_reruns_collect_only_when_a_partition_arrives(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """The collect stage as dvc.yaml defines it: DVC hashes the S3 prefix, so only a new partition re-runs it."""

    import yaml

    client = aws_env.client()
    for day in (1, 2):
        upload_day(client, bucket, bike_frame, day)
    work = tmp_path / "ws"
    # pipelines/<problem>/params.yaml: per-problem params every stage lists; all as committed
    export_files(work, ["tasks", "pipelines", "data/sources"])  # collect depends on every problem's local source
    copy_params(work)
    set_params(work, {"collect.source": f"s3://{bucket}/bike/", "collect.as_of": "2011-12-31"})
    stages = committed_yaml("dvc.yaml")["stages"]
    (work / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"collect": stages["collect"]}}))
    env = dict(os.environ, AWS_ENDPOINT_URL=aws_env.endpoint_url, AWS_DEFAULT_REGION="us-east-1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"

    def dvc(*args: str) -> str:
        done = subprocess.run(["dvc", *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    subprocess.run(["git", "init", "-q"], cwd=work, check=True, timeout=60)
    dvc("init", "-q")
    first = dvc("repro")
    assert "Running stage 'collect'" in first and "fetched 2 new partition(s)" in first
    assert "Running stage" not in dvc("repro")

    upload_day(client, bucket, bike_frame, 3)
    assert f"modified:           s3://{bucket}/bike/" in dvc("status")
    third = dvc("repro")
    assert "fetched 1 new partition(s)" in third and "['bike/dt=2011-01-03/part-0.csv']" in third
    assert len(pd.read_parquet(work / "data" / "raw" / "data.parquet")) == int(bike_frame["day"].isin([1, 2, 3]).sum())


def test_read_sources_reads_a_whole_prefix_for_other_readers(
    aws_env: S3Server, bucket: str, bike_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """monitor and infer_schema read `collect.source` with read_sources: an S3 prefix works there too."""
    from tasks.data.sources import read_sources

    client = aws_env.client()
    for day in (40, 41):
        upload_day(client, bucket, bike_frame, day, fmt="parquet")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    frame, files = read_sources(f"s3://{bucket}/bike/")

    pd.testing.assert_frame_equal(frame, bike_frame[bike_frame["day"].isin([40, 41])].reset_index(drop=True))
    assert [f.uri for f in files] == [f"s3://{bucket}/bike/dt=2011-02-{d:02d}/part-0.parquet" for d in (9, 10)]

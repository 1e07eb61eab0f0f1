"""The prediction log and the labels on S3 (a real SeaweedFS on loopback): what the server writes to an s3:// prefix,
the monitor reads back exactly as it reads a local folder, in both layouts (hour partitions with typed columns, and
date partitions with JSON cells written before), reading no partition after the times asked for; preflight reads
an s3:// store on S3 and makes no local folder for it. The whole production path on S3 (server, labels, monitor) is
test_production_monitoring.py::test_labels_posted_later_to_the_server_give_each_window_its_performance with a local
log; this file proves the S3 side of each reader."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.monitoring.log_reader import join_ground_truth, read_ground_truth, read_prediction_log
from tasks.serving.feedback import FeedbackWriter
from tasks.serving.prediction_log import LoggedRequest, PredictionLog
from tests.monitoring.old_log import write_old_log
from tests.serving.conftest import S3Server, aws_env, bucket, s3_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(180)
REPO = Path(__file__).resolve().parents[2]
INPUTS = {"temp": np.array([0.5, 0.7]), "weathersit": np.array(["clear", "mist"])}


def write_log(destination: str, client: object = None) -> None:
    log = PredictionLog(destination, flush_rows=3, flush_s=60, s3_client=client).start()
    for i in range(4):
        inputs = {"temp": np.array([0.1 * i, 0.2 * i]), "weathersit": INPUTS["weathersit"]}
        log.record(
            LoggedRequest(f"req-{i}", datetime(2026, 1, 1, i, tzinfo=UTC), "bikes", 1, inputs, np.ones((2, 1)) * i)
        )
    log.close()
    FeedbackWriter(destination, client).write(
        [{"request_id": "req-1", "instance": 1, "label": 5.0}, {"request_id": "req-3", "instance": 0, "label": 7.0}]
    )


def test_the_log_and_the_labels_read_from_s3_equal_the_same_written_locally(
    aws_env: S3Server,  # noqa: F811
    bucket: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = aws_env.client()
    write_log(f"s3://{bucket}/served/log", client)
    write_log(str(tmp_path / "log"))
    old = LoggedRequest("req-old", datetime(2025, 12, 31, 23, 59, tzinfo=UTC), "bikes", 1, INPUTS, np.ones((2, 1)))
    old_file = write_old_log(tmp_path / "log", [old])  # a file written before hour partitions and typed columns
    broken = "date=2026-01-02/hour=00/part-broken.parquet"  # after the times read below: never read
    for name, data in [(old_file.relative_to(tmp_path / "log").as_posix(), old_file.read_bytes()), (broken, b"x")]:
        client.put_object(Bucket=bucket, Key=f"served/log/{name}", Body=data)
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert any(k.startswith("served/log/date=2026-01-01/hour=03/part-") for k in keys)
    assert any("ground_truth/feedback-" in k for k in keys)

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.endpoint_url)  # the monitor's client, when no store gives one
    until = datetime(2026, 1, 2, tzinfo=UTC)
    on_s3 = read_prediction_log(f"s3://{bucket}/served/log", "bikes", until=until)
    truth_s3 = read_ground_truth(f"s3://{bucket}/served/log/ground_truth", "bikers")
    local = read_prediction_log(tmp_path / "log", "bikes")
    truth_local = read_ground_truth(tmp_path / "log/ground_truth", "bikers")

    assert len(on_s3) == 10 and list(on_s3["request_id"].iloc[:2]) == ["req-old"] * 2
    columns = ["request_id", "instance", "version", "temp", "weathersit", "prediction"]
    pd.testing.assert_frame_equal(on_s3[columns], local[columns])
    joined = join_ground_truth(on_s3, truth_s3, "bikers")
    assert joined.set_index(["request_id", "instance"])["bikers"].dropna().to_dict() == {
        ("req-1", 1): 5.0,
        ("req-3", 0): 7.0,
    }
    pd.testing.assert_frame_equal(truth_s3.reset_index(drop=True), truth_local.reset_index(drop=True))


def test_preflight_reads_an_s3_store_on_s3_and_makes_no_local_folder(
    aws_env: S3Server,  # noqa: F811
    bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.workspace_params import copy_params, set_params

    copy_params(tmp_path, "bike_demand")
    set_params(tmp_path, {"deploy.store": f"s3://{bucket}/models"})
    env = {**os.environ, "PYTHONPATH": str(REPO), "AWS_ENDPOINT_URL": aws_env.endpoint_url}
    before = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "tasks.store.preflight"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"s3://{bucket}/models" in done.stderr and "nothing in production yet" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no s3:/ folder, no data/model_store

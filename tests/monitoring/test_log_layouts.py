"""The prediction log's two layouts: files written today (hour partitions, typed `input.<field>` columns and
`output.values`) and files written before (date partitions, JSON cells) give the monitor the same frame, also mixed
in one log; partitions outside the times asked for are never read (a broken file there does not matter). The S3 side
of the same is tests/monitoring/test_log_on_s3.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tasks.core.errors import PipelineError
from tasks.monitoring.log_reader import read_prediction_log
from tasks.monitoring.window import MonitoringSettings, production_windows
from tasks.monitoring.windows import parse_rule
from tasks.serving.prediction_log import LoggedRequest, PredictionLog
from tests.monitoring.old_log import write_old_log

pytestmark = pytest.mark.timeout(60)
START = datetime(2026, 11, 2, 22, tzinfo=UTC)  # two hours before midnight: the log spans two days


def served(hours: int = 4, image: bool = True) -> list[LoggedRequest]:
    """Requests as the server logs them: float32 and int fields shaped (n, 1), strings, an image-like field that
    cannot be a column (unless not `image`), a refused request, one request an hour."""
    entries = []
    for h in range(hours):
        inputs = {
            "temp": np.array([[0.1 * h], [0.3]], dtype="float32"),
            "hour": np.array([[h], [h + 1]], dtype="int64"),
            "weathersit": np.array(["clear", "cloudy/misty"], dtype=object),
            **({"pixels": np.arange(8, dtype="float32").reshape(2, 2, 2) * h} if image else {}),
        }
        outputs = None if h == 2 else np.array([[0.5 * h], [1.25]], dtype="float32")
        refused = "out_of_range" if h == 2 else None
        moment = START + timedelta(hours=h, minutes=5)
        entries.append(LoggedRequest(f"req-{h}", moment, "bike_demand", 1, inputs, outputs, refused=refused))
    return entries


def write_new(folder: Path, entries: list[LoggedRequest]) -> None:
    writer = PredictionLog(str(folder), flush_rows=10_000, flush_s=60).start()
    for entry in entries:
        writer.record(entry)
    writer.close()


COLUMNS = ["request_id", "instance", "time", "model", "version", "refused", "prediction"]
FIELDS = ["temp", "hour", "weathersit", "pixels"]


@pytest.mark.parametrize("image", [True, False], ids=["a-field-kept-as-json", "every-field-typed"])
def test_old_date_json_logs_and_new_hour_typed_logs_read_as_the_same_frame_also_mixed(
    tmp_path: Path, image: bool
) -> None:
    entries = served(image=image)
    write_new(tmp_path / "new", entries)
    write_old_log(tmp_path / "old", entries)
    write_old_log(tmp_path / "mixed", entries[:2])  # a deployment that upgraded its server after two requests
    write_new(tmp_path / "mixed", entries[2:])

    new_files = sorted(p.relative_to(tmp_path / "new").as_posix() for p in (tmp_path / "new").rglob("*.parquet"))
    assert [f.rsplit("/", 1)[0] for f in new_files] == [
        "date=2026-11-02/hour=22",
        "date=2026-11-02/hour=23",
        "date=2026-11-03/hour=00",
        "date=2026-11-03/hour=01",
    ]
    schema = pq.read_schema(tmp_path / "new" / new_files[0])
    assert {"input.temp", "input.hour", "input.weathersit", "output.values"} <= set(schema.names)
    assert str(schema.field("input.temp").type) == "float" and str(schema.field("input.weathersit").type) == "string"

    old, new, mixed = (read_prediction_log(tmp_path / name, "bike_demand") for name in ("old", "new", "mixed"))
    assert len(new) == 8 and list(new["request_id"]) == [f"req-{h}" for h in range(4) for _ in range(2)]
    assert new["temp"].dtype == "float64" and new["temp"].iloc[0] == 0.0 and new["temp"].iloc[1] == np.float32(0.3)
    assert list(new["prediction"].iloc[[0, 1, 2, 4, 5]]) == [0.0, 1.25, 0.5, None, None]
    fields = FIELDS if image else FIELDS[:-1]
    if image:
        assert np.stack(new["pixels"].iloc[2]).tolist() == [[0.0, 1.0], [2.0, 3.0]]  # not a column: JSON, read back
    else:
        assert new["input"].isna().all() and new["output"].isna().all()  # no JSON cell was written
    for frame in (old, mixed):
        assert list(frame.columns) == list(new.columns)
        pd.testing.assert_frame_equal(frame[COLUMNS + fields], new[COLUMNS + fields])


def test_only_the_partitions_of_the_times_asked_for_are_read_in_both_layouts(tmp_path: Path) -> None:
    write_new(tmp_path / "log", served())
    old = served(1)[0]
    write_old_log(tmp_path / "log", [LoggedRequest(**{**vars(old), "time": START - timedelta(days=3)})])
    for broken in ("date=2026-11-03/hour=05/part-broken.parquet", "date=2026-10-20/part-broken.parquet"):
        (tmp_path / "log" / broken).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "log" / broken).write_bytes(b"not parquet")

    since, until = START - timedelta(days=3), START + timedelta(hours=2)
    with pytest.raises(PipelineError, match=r"hour=05/part-broken\.parquet: not a prediction log file"):
        read_prediction_log(tmp_path / "log", since=since)  # the later broken file is in the times asked for
    with pytest.raises(PipelineError, match=r"2026-10-20/part-broken\.parquet: not a prediction log file"):
        read_prediction_log(tmp_path / "log", until=until)  # the earlier one
    day = read_prediction_log(tmp_path / "log", since=since, until=until)
    assert list(day["request_id"]) == ["req-0"] * 4 + ["req-1"] * 2  # the old file's request, then the new ones
    assert day["time"].min() == pd.Timestamp(since)
    assert day["time"].max() < pd.Timestamp(START + timedelta(hours=2))

    # the monitor's time windows: the partitions after the last complete window are not read (all before are)
    (tmp_path / "log/date=2026-10-20/part-broken.parquet").unlink()
    settings = MonitoringSettings(parse_rule({"size": "1h"}), str(tmp_path / "log"), str(tmp_path / "gt"), tmp_path)
    reference = SimpleNamespace(model="bike_demand", version=1, target="bikers")
    windows = production_windows(reference, settings, now=START + timedelta(hours=3))  # type: ignore[arg-type]
    assert [w.id for w in windows][-3:] == [
        "20261102T220000Z-20261102T230000Z",
        "20261102T230000Z-20261103T000000Z",
        "20261103T000000Z-20261103T010000Z",
    ]

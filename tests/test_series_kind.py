"""The series kind (tasks/kinds/series.py, series_source.py, series_windows.py): the gap report, the fill rule,
windows that never span a long gap or a split boundary, the persistence baseline, and a SavedModel that takes a raw
window and serves what Keras predicts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.weather_forecast import PROBLEM, build_lstm_forecaster
from tasks.core.errors import PipelineError
from tasks.kinds.series import SERIES, persistence_baseline
from tasks.kinds.series_source import check_series, gap_report, missing_runs, read_series_source
from tasks.kinds.series_windows import (
    fill,
    fit_station_offsets,
    hourly_grid,
    long_gaps,
    missing_hours,
    to_windows,
    windows,
)

pytestmark = pytest.mark.timeout(600)

TOY = dataclasses.replace(
    PROBLEM, stations=("A", "B"), features=("temp", "wind"), target_station="A", target_feature="temp",
    lookback_hours=4, horizon_hours=2, valid_ranges={"wind": (0.0, 100.0)},
)  # fmt: skip
START = pd.Timestamp("2013-01-01", tz="UTC")


def long_table(hours: int, drop: dict[str, list[int]] | None = None) -> pd.DataFrame:
    """Station A's temp is the hour number, B's is hour + 10; wind 5 everywhere; `drop` removes station-hours."""
    rows = []
    for station, offset in (("A", 0.0), ("B", 10.0)):
        for h in range(hours):
            if h in (drop or {}).get(station, []):
                continue
            rows.append({"time": START + pd.Timedelta(hours=h), "station": station, "temp": h + offset, "wind": 5.0})
    return pd.DataFrame(rows)


def test_missing_hour_runs_and_the_gap_report() -> None:
    frame = long_table(20, {"A": [3, 4, 5, 10]})
    assert missing_runs(pd.DatetimeIndex(frame.loc[frame["station"] == "A", "time"]), START, frame["time"].max()) == [
        3,
        1,
    ]
    report = gap_report(frame.assign(wind=frame["wind"].where(frame["temp"] != 7, 1000.0)), TOY)
    assert report["stations"]["A"] == {"missing_hours": 4, "longest_gap_hours": 3, "gaps_by_length": {"1": 1, "3": 1}}
    assert report["stations"]["B"]["missing_hours"] == 0
    assert report["features"]["wind"]["outside_valid_range"] == 1


def test_duplicate_hours_and_unknown_stations_fail_validation() -> None:
    frame = long_table(10)
    frame = pd.concat([frame, frame.iloc[:1], frame.iloc[:1].assign(station="C")])
    failed = {c.name for c in check_series(frame, TOY, 0.05) if not c.success and c.severity == "critical"}
    assert failed == {"stations", "one row per station and hour"}


def test_short_gaps_are_interpolated_and_windows_never_span_a_longer_one() -> None:
    frame = long_table(40, {"A": [5, 20, 21, 22]})  # a 1-hour and a 3-hour gap
    grid = hourly_grid(frame, TOY)
    assert long_gaps(missing_hours(grid, TOY), 2).tolist() == [20 <= h <= 22 for h in range(40)]
    filled = fill(grid, TOY, 2, fit_station_offsets(grid, TOY))
    assert filled.loc[START + pd.Timedelta(hours=5), "A_temp"] == 5.0  # interpolated between 4 and 6
    # the 3-hour gap is filled from the other station minus its fitted offset, but no window may span it
    assert filled.loc[START + pd.Timedelta(hours=21), "A_temp"] == pytest.approx(21.0)
    rows = windows(grid, filled, TOY, 2, START, START + pd.Timedelta(hours=40))
    for stamp in rows["timestamp"]:
        last = (stamp - START) / pd.Timedelta(hours=1) - TOY.horizon_hours
        first = last - TOY.lookback_hours + 1
        assert not (first <= 22 and last >= 20), stamp
    assert len(rows) > 10


def test_the_fill_offset_is_fitted_on_the_training_period_alone() -> None:
    frame = long_table(30)
    frame.loc[(frame["station"] == "B") & (frame["time"] >= START + pd.Timedelta(hours=20)), "temp"] += 100
    grid = hourly_grid(frame, TOY)
    train_only = fit_station_offsets(grid.iloc[:20], TOY)
    assert train_only["A_temp"] == pytest.approx(-10.0)
    assert fit_station_offsets(grid, TOY)["A_temp"] != pytest.approx(-10.0)


def test_no_window_straddles_a_split_boundary() -> None:
    frame = long_table(30)
    grid = hourly_grid(frame, TOY)
    filled = fill(grid, TOY, 2, fit_station_offsets(grid, TOY))
    boundary = START + pd.Timedelta(hours=15)
    before = windows(grid, filled, TOY, 2, START, boundary)
    after = windows(grid, filled, TOY, 2, boundary, START + pd.Timedelta(hours=30))
    assert before["timestamp"].max() < boundary
    first_hours = after["timestamp"] - pd.Timedelta(hours=TOY.horizon_hours + TOY.lookback_hours - 1)
    assert first_hours.min() >= boundary
    assert len(before) + len(after) < len(windows(grid, filled, TOY, 2, START, START + pd.Timedelta(hours=30)))


def test_windows_hold_raw_readings_and_persistence_is_the_target_a_day_earlier() -> None:
    problem = dataclasses.replace(TOY, lookback_hours=30, horizon_hours=24)
    frame = long_table(80)
    grid = hourly_grid(frame, problem)
    rows = windows(grid, fill(grid, problem, 2, fit_station_offsets(grid, problem)), problem, 2, START, grid.index[-1])
    spec = {"columns": problem.columns, "lookback_hours": 30, "horizon_hours": 24, "target_column": "A_temp"}
    values = to_windows(rows, spec)
    assert values.shape == (len(rows), 30, 4) and values[0, 0].tolist() == [0.0, 5.0, 10.0, 5.0]
    target_hour = (rows["timestamp"] - START) / pd.Timedelta(hours=1)
    np.testing.assert_array_equal(rows["target"], target_hour)
    np.testing.assert_array_equal(persistence_baseline(spec)(rows), target_hour - 24)


def test_a_source_without_a_column_the_problem_reads_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weather.csv"
    pd.DataFrame({"origin": ["JFK"], "time_hour": ["2013-01-01T06:00:00Z"], "temp": [40.0]}).to_csv(path, index=False)
    with pytest.raises(PipelineError, match=r"no column\(s\) \['dewp', 'humid', 'wind_speed', 'pressure'\]"):
        read_series_source(str(path), PROBLEM)


def test_the_savedmodel_takes_a_raw_window_and_serves_what_keras_predicts(tmp_path: Path) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    columns = PROBLEM.columns
    spec = {
        "problem": PROBLEM.name,
        "columns": columns,
        "lookback_hours": 48,
        "mean": [50.0] * len(columns),
        "variance": [100.0] * len(columns),
        "target_mean": 50.0,
        "target_std": 10.0,
    }
    model = build_lstm_forecaster(spec, {"recurrent_units": 4, "dropout": 0.5, "learning_rate": 0.01})
    window = rng.normal(50, 10, size=(8, 48, len(columns))).astype("float32")
    model.fit(window, rng.normal(50, 10, size=8), epochs=1, verbose=0)
    SERIES.write_savedmodel(model, tmp_path / "savedmodel", spec)
    served = tf.saved_model.load(str(tmp_path / "savedmodel")).signatures["serving_default"]
    np.testing.assert_allclose(
        served(window=tf.constant(window))["output_0"].numpy(), model.predict(window, verbose=0), atol=1e-5
    )
    assert served.structured_input_signature[1]["window"].shape.as_list() == [None, 48, 15]

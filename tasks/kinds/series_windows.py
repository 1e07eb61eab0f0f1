"""The series kind's featurize: the hourly grid, the fill rule, the windows, and the split by time.

The fill rule, what makes a window valid and how the periods are cut are in tasks/kinds/series.py. Outputs
(data/features/): `train.parquet`, `val.parquet`, `test.parquet` (raw window bytes, target, forecast `timestamp`,
`month`, `hour`) and `spec.json`; `to_windows` turns a split's rows back into (n, lookback, columns) float32 arrays.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import SeriesProblem
from tasks.core.artifacts import VALIDATED, read_parquet, write_features
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.kinds.series_source import HOUR

log = logging.getLogger(__name__)


def hourly_grid(frame: pd.DataFrame, problem: SeriesProblem) -> pd.DataFrame:
    """One row per hour from the first to the last, columns `<station>_<feature>`; absent hours and readings
    outside the valid ranges are NaN."""
    frame = frame.copy()
    for feature in problem.features:
        values = pd.to_numeric(frame[feature], errors="coerce")
        lo, hi = problem.valid_ranges.get(feature, (-np.inf, np.inf))
        frame[feature] = values.where((values >= lo) & (values <= hi))
    wide = frame.pivot(index="time", columns="station", values=list(problem.features))
    wide.columns = [f"{station}_{feature}" for feature, station in wide.columns]
    hours = pd.date_range(frame["time"].min(), frame["time"].max(), freq="h")
    return wide.reindex(hours)[problem.columns].astype("float64")


def missing_hours(grid: pd.DataFrame, problem: SeriesProblem) -> np.ndarray:
    """Per hour: True where some station has no reading at all (its row is absent), a gap in the series."""
    gone = np.zeros(len(grid), dtype=bool)
    for station in problem.stations:
        gone |= grid[[f"{station}_{feature}" for feature in problem.features]].isna().all(axis=1).to_numpy()
    return gone


def long_gaps(missing: np.ndarray, limit: int) -> np.ndarray:
    """Per hour: True inside a run of more than `limit` consecutive `missing` hours."""
    flags = np.zeros(len(missing), dtype=bool)
    start = None
    for i, gone in enumerate([*missing, False]):
        if gone and start is None:
            start = i
        elif not gone and start is not None:
            if i - start > limit:
                flags[start:i] = True
            start = None
    return flags


def fit_station_offsets(train_grid: pd.DataFrame, problem: SeriesProblem) -> dict[str, float]:
    """Per column: its training-period mean difference from the other stations' mean of the same feature."""
    offsets = {}
    for station in problem.stations:
        for feature in problem.features:
            others = [f"{s}_{feature}" for s in problem.stations if s != station]
            difference = train_grid[f"{station}_{feature}"] - train_grid[others].mean(axis=1)
            offsets[f"{station}_{feature}"] = float(difference.mean()) if difference.notna().any() else 0.0
    return offsets


def fill(grid: pd.DataFrame, problem: SeriesProblem, limit: int, offsets: dict[str, float]) -> pd.DataFrame:
    """The fill rule: interpolate runs of at most `limit` hours; then other stations' mean + fitted offset."""
    filled = grid.interpolate(method="linear", limit=limit, limit_area="inside")
    for station in problem.stations:
        for feature in problem.features:
            column = f"{station}_{feature}"
            others = [f"{s}_{feature}" for s in problem.stations if s != station]
            estimate = filled[others].mean(axis=1) + offsets[column]
            filled[column] = filled[column].fillna(estimate)
    return filled


def windows(
    grid: pd.DataFrame,
    filled: pd.DataFrame,
    problem: SeriesProblem,
    limit: int,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Every valid window whose first hour and forecast hour lie in [start, end): raw window bytes, target,
    forecast timestamp, month and hour. Invalid: a missing run longer than `limit` in the window, anything still
    missing after the fill, or a forecast hour whose target is not a real reading."""
    lookback, horizon = problem.lookback_hours, problem.horizon_hours
    values = filled.to_numpy(dtype="float32")
    target = grid[f"{problem.target_station}_{problem.target_feature}"].to_numpy()
    bad = long_gaps(missing_hours(grid, problem), limit) | np.isnan(values).any(axis=1)
    bad_before = np.concatenate([[0], np.cumsum(bad)])  # bad hours in [i, j) = bad_before[j] - bad_before[i]
    times = grid.index
    rows = []
    for first in range(len(grid) - lookback - horizon + 1):
        last = first + lookback  # exclusive end of the window
        forecast = last - 1 + horizon
        if times[first] < start or times[forecast] >= end:
            continue
        if bad_before[last] - bad_before[first] or np.isnan(target[forecast]):
            continue
        rows.append((values[first:last].tobytes(), float(target[forecast]), times[forecast]))
    frame = pd.DataFrame(rows, columns=["window", problem.target, "timestamp"])
    stamps = pd.DatetimeIndex(frame["timestamp"])
    return frame.assign(month=stamps.month.astype("int64"), hour=stamps.hour.astype("int64"))


def to_windows(frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """(n, lookback, columns) float32 from the `window` bytes of `frame`."""
    lookback, width = int(spec["lookback_hours"]), len(spec["columns"])
    flat = np.frombuffer(b"".join(frame["window"].tolist()), dtype=np.float32)
    return flat.reshape(len(frame), lookback, width)


def featurize(problem: SeriesProblem, params: Params) -> dict[str, Any]:
    val_fraction = params.get("featurize.val_fraction", float, minimum=0.01, maximum=0.9)
    test_fraction = params.get("featurize.test_fraction", float, 0.15, minimum=0.01, maximum=0.9)
    limit = params.get("featurize.max_gap_hours", int, 2, minimum=0)
    frame = read_parquet(VALIDATED)
    grid = hourly_grid(frame.assign(time=pd.to_datetime(frame["time"], utc=True)), problem)
    hours = grid.index
    val_start = hours[int(len(hours) * (1 - val_fraction - test_fraction))]
    test_start = hours[int(len(hours) * (1 - test_fraction))]
    train_grid = grid.loc[grid.index < val_start]
    offsets = fit_station_offsets(train_grid, problem)
    filled = fill(grid, problem, limit, offsets)
    bounds = {"train": (hours[0], val_start), "val": (val_start, test_start), "test": (test_start, hours[-1] + HOUR)}
    splits = {name: windows(grid, filled, problem, limit, lo, hi) for name, (lo, hi) in bounds.items()}
    empty = [name for name, rows in splits.items() if rows.empty]
    if empty:
        raise PipelineError(f"featurize: no valid window in {empty}; lower featurize.max_gap_hours or the fractions")
    train_values = filled.loc[filled.index < val_start]
    spec = {
        "kind": "series",
        "problem": problem.name,
        "task": problem.task,
        "target": problem.target,
        "columns": problem.columns,
        "lookback_hours": problem.lookback_hours,
        "horizon_hours": problem.horizon_hours,
        "target_column": f"{problem.target_station}_{problem.target_feature}",
        "max_gap_hours": limit,
        "fill_offsets": offsets,
        "mean": train_values.mean().tolist(),
        "variance": train_values.var(ddof=0).tolist(),
        "target_mean": float(splits["train"][problem.target].mean()),
        "target_std": float(splits["train"][problem.target].std(ddof=0)),
        "minimum": float(np.nanmin(train_values.to_numpy())),
        "maximum": float(np.nanmax(train_values.to_numpy())),
        "splits": {
            name: {
                "rows": len(rows),
                "from": str(bounds[name][0]),
                "to": str(bounds[name][1]),
                "dropped_windows": int(
                    ((bounds[name][1] - bounds[name][0]) / HOUR - problem.lookback_hours - problem.horizon_hours + 1)
                    - len(rows)
                ),
            }
            for name, rows in splits.items()
        },
    }
    write_features(splits, spec)
    log.info("windows %s", {k: v["rows"] for k, v in spec["splits"].items()})
    return spec

"""The series kind: hourly readings of several stations, a forecast of one station's variable some hours ahead.

- collect: the long source table (one row per station and hour) as read, from CSV, JSON lines or Parquet.
- validate: columns, time parse, stations, duplicate (station, hour) rows (critical); a gap report (missing hours per
  station and their longest run, missing values per feature, readings outside the problem's valid ranges), kept in
  the validation report and summary: gaps are what featurize must handle, not a reason to reject the batch.
- featurize: an hourly grid (stations x features as columns); readings outside the valid ranges become missing.
  A gap is a run of hours in which some station has no reading at all. Fill rule: a run of at most
  `featurize.max_gap_hours` missing values of a column is filled by linear interpolation between its neighbours; a
  value still missing (a longer run, or a feature one station did not report: the source's pressure) is filled from
  the other stations' mean of that feature at that hour plus the station's mean offset from them, an offset fitted on
  the training period alone. A window (`lookback_hours` of readings ending `horizon_hours` before the forecast hour)
  is kept only when it spans no gap longer than `featurize.max_gap_hours`, nothing is left missing, and the forecast
  hour's target is a real reading. Split by time: train, validation, test periods in order (`featurize.val_fraction`,
  `featurize.test_fraction` of the hours); a window belongs to a split only if its first hour and its forecast hour
  both lie in it (no window straddles a boundary). Each row of a split holds the raw window (float32 bytes), the
  target, the forecast `timestamp`, its `month` and `hour`.
- serving: one input `window`, float32 (lookback_hours, stations x features), raw readings; the model normalises them.
- baselines: persistence (the target at the same hour one day earlier, the books' common sense) and a ridge
  regression on the flattened, standardised window; the objective adds the training mean.
- importance: the score lost when one station's or one feature's readings are shuffled across windows.
- drift: per-feature distributions of the current hours against the training period's, and the persistence error
  as a data-only signal (no model needed); the test period stands in for new data.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import SeriesProblem
from tasks.checks.quarantine import quarantine
from tasks.core.artifacts import (
    FEATURES_DIR,
    QUARANTINE_DIR,
    RAW,
    RAW_DIR,
    RAW_MANIFEST,
    VALIDATED,
    VALIDATED_DIR,
    VALIDATION_REPORT_DIR,
    read_parquet,
    read_split,
)
from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.data.sources import HttpSettings, read_sources
from tasks.kinds.checks import Check, summary
from tasks.kinds.contract import DriftResult, MeasureDrift, Predictor
from tasks.reports.html import page, table

log = logging.getLogger(__name__)
HOUR = pd.Timedelta(hours=1)


# ---------------------------------------------------------------------------------------------------- collect


def read_series_source(
    source: str, problem: SeriesProblem, http: HttpSettings | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame, files = read_sources(source, http)
    wanted = [problem.time_column, problem.station_column, *problem.features]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise PipelineError(
            f"collect.source {source}: no column(s) {missing}; the {problem.name} problem reads {wanted} "
            f"(columns: {list(frame.columns)})"
        )
    rows = frame[wanted].rename(columns={problem.time_column: "time", problem.station_column: "station"})
    rows = rows.assign(station=rows["station"].astype(str), time=rows["time"].astype(str))
    manifest = {
        "problem": problem.name,
        "sources": [{"uri": f.uri, "sha256": f.sha256, "bytes": len(f.payload)} for f in files],
        "rows": len(rows),
    }
    return rows, manifest


def collect(problem: SeriesProblem, params: Params) -> None:
    source = params.get("collect.source", str)
    http = HttpSettings.from_params(params)
    rows, manifest = read_series_source(source, problem, http)
    with atomic_dir(RAW_DIR) as tmp:
        rows.to_parquet(tmp / RAW.name, index=False)
        (tmp / RAW_MANIFEST.name).write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("collected %d station-hours from %s", len(rows), source)


# --------------------------------------------------------------------------------------------------- validate


def missing_runs(present: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> list[int]:
    """Lengths (hours) of the runs of hours between `start` and `end` that `present` lacks."""
    missing = pd.date_range(start, end, freq="h").difference(present)
    if missing.empty:
        return []
    breaks = np.flatnonzero(np.diff(missing.asi8) != HOUR.value)
    return np.diff(np.concatenate([[0], breaks + 1, [len(missing)]])).tolist()


def gap_report(frame: pd.DataFrame, problem: SeriesProblem) -> dict[str, Any]:
    """Missing hours per station (count, longest run, runs by length), missing values and out-of-range readings
    per feature."""
    start, end = frame["time"].min(), frame["time"].max()
    stations = {}
    for station in problem.stations:
        runs = missing_runs(pd.DatetimeIndex(frame.loc[frame["station"] == station, "time"]), start, end)
        stations[station] = {
            "missing_hours": int(sum(runs)),
            "longest_gap_hours": int(max(runs, default=0)),
            "gaps_by_length": {str(k): int(v) for k, v in sorted(pd.Series(runs).value_counts().items())},
        }
    features = {}
    for feature in problem.features:
        values = pd.to_numeric(frame[feature], errors="coerce")
        lo, hi = problem.valid_ranges.get(feature, (-np.inf, np.inf))
        features[feature] = {
            "missing_values": int(values.isna().sum()),
            "outside_valid_range": int(((values < lo) | (values > hi)).sum()),
            "valid_range": [lo, hi] if np.isfinite([lo, hi]).all() else None,
        }
    return {"from": str(start), "to": str(end), "stations": stations, "features": features}


def check_series(frame: pd.DataFrame, problem: SeriesProblem, max_missing_share: float) -> list[Check]:
    def check(name: str, success: Any, detail: str, severity: str = "critical") -> Check:
        return Check(name, bool(success), detail, severity)

    unknown = sorted(set(frame["station"]) - set(problem.stations))
    absent = sorted(set(problem.stations) - set(frame["station"]))
    duplicated = frame.duplicated(["station", "time"])
    hours = (frame["time"].max() - frame["time"].min()) / HOUR + 1 if len(frame) else 0
    checks = [
        check("not empty", len(frame) > 0, f"{len(frame)} station-hours"),
        check("time parses", frame["time"].notna().all(), f"{int(frame['time'].isna().sum())} unreadable time(s)"),
        check("stations", not unknown and not absent, f"unknown {unknown}, absent {absent}"),
        check("one row per station and hour", not duplicated.any(), f"{int(duplicated.sum())} repeated row(s)"),
    ]
    for station in problem.stations:
        rows = int((frame["station"] == station).sum())
        share = 1 - rows / hours if hours else 1.0
        checks.append(
            check(
                f"{station}: missing hours",
                share <= max_missing_share,
                f"{share:.2%} of the hours missing (validate.max_missing_share {max_missing_share:.2%})",
            )
        )
    for feature in problem.features:
        values = pd.to_numeric(frame[feature], errors="coerce")
        lo, hi = problem.valid_ranges.get(feature, (-np.inf, np.inf))
        outside = int(((values < lo) | (values > hi)).sum())
        checks.append(
            check(
                f"{feature}: valid range",
                outside == 0,
                f"{outside} reading(s) outside {lo:g}..{hi:g}: treated as missing by featurize",
                severity="warning",
            )
        )
    return checks


def validate(problem: SeriesProblem, params: Params) -> None:
    max_missing_share = params.get("validate.max_missing_share", float, 0.05, minimum=0.0, maximum=1.0)
    frame = read_parquet(RAW)
    frame = frame.assign(time=pd.to_datetime(frame["time"], utc=True, errors="coerce"))
    checks = check_series(frame, problem, max_missing_share)
    gaps = gap_report(frame.dropna(subset=["time"]), problem) if frame["time"].notna().any() else {}
    run_time = datetime.now(UTC)
    outcome = {"source": str(RAW), "run_time": run_time.isoformat(timespec="seconds")} | summary(checks)
    outcome["gaps"] = gaps
    with atomic_dir(VALIDATION_REPORT_DIR) as docs:
        rows = [
            [c.name, "pass" if c.success else ("FAIL" if c.severity == "critical" else "warn"), c.detail]
            for c in checks
        ]
        station_rows = [
            [s, g["missing_hours"], g["longest_gap_hours"], json.dumps(g["gaps_by_length"])]
            for s, g in gaps.get("stations", {}).items()
        ]
        feature_rows = [[f, g["missing_values"], g["outside_valid_range"]] for f, g in gaps.get("features", {}).items()]
        verdict = outcome["success"]
        docs.joinpath("index.html").write_text(
            page(
                f"Validation: {problem.name}",
                [
                    ("Verdict", f'<p class="{"pass" if verdict else "fail"}">{"PASSED" if verdict else "FAILED"}</p>'),
                    ("Checks", table(["check", "result", "detail"], rows)),
                    (
                        "Missing hours",
                        table(["station", "missing hours", "longest gap (h)", "gaps by length"], station_rows),
                    ),
                    ("Missing values", table(["feature", "missing", "outside valid range"], feature_rows)),
                ],
                subtitle=html.escape(problem.description),
            )
        )
        (docs / "summary.json").write_text(json.dumps(outcome, indent=2) + "\n")
    if not outcome["success"]:
        lines = [f"{RAW}: {outcome['failed']} check(s) failed; the pipeline stops before featurize:"]
        lines += [f"  - {c.name}: {c.detail}" for c in checks if not c.success and c.severity == "critical"]
        lines.append(f"  The last validated data in {VALIDATED_DIR}/ was left as it was.")
        kept = quarantine(RAW.parent, VALIDATION_REPORT_DIR, "\n".join(lines), run_time, QUARANTINE_DIR)
        lines.append(f"  The rejected batch and its report were kept in {kept}/")
        raise PipelineError("\n".join(lines))
    with atomic_dir(VALIDATED_DIR) as tmp:
        frame.to_parquet(tmp / VALIDATED.name, index=False)
    log.info("%d station-hours passed %d checks", len(frame), len(checks))


# -------------------------------------------------------------------------------------------------- featurize


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
    with atomic_dir(FEATURES_DIR) as tmp:
        for name, rows in splits.items():
            rows.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "spec.json").write_text(json.dumps(spec, indent=2) + "\n")
    log.info("windows %s", {k: v["rows"] for k, v in spec["splits"].items()})
    return spec


# ------------------------------------------------------------------------------------------ model and serving


def persistence_baseline(spec: dict[str, Any]) -> Predictor:
    """Common-sense baseline: the target at the same hour one day (24 h) before the forecast hour."""
    column = spec["columns"].index(spec["target_column"])
    back = 24 - int(spec["horizon_hours"])  # hours before the window's last one
    row = int(spec["lookback_hours"]) - 1 - back
    return lambda frame: to_windows(frame, spec)[:, row, column].astype("float64")


def ridge_baseline(train: pd.DataFrame, spec: dict[str, Any]) -> Predictor:
    """A scikit-learn ridge regression on the flattened, standardised window."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def flat(frame: pd.DataFrame) -> np.ndarray:
        return to_windows(frame, spec).reshape(len(frame), -1)

    model = make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(flat(train), train[spec["target"]])
    return lambda frame: np.asarray(model.predict(flat(frame)), dtype="float64")


def shuffled(frame: pd.DataFrame, spec: dict[str, Any], columns: list[int], rng: np.random.Generator) -> pd.DataFrame:
    values = to_windows(frame, spec).copy()
    order = rng.permutation(len(frame))
    values[:, :, columns] = values[order][:, :, columns]
    return frame.assign(window=[w.tobytes() for w in values])


def last_hours(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """The window's last hour of readings, one row per window (each hour of a period once, for hourly windows)."""
    return pd.DataFrame(to_windows(frame, spec)[:, -1, :], columns=spec["columns"]).astype("float64")


def drift(
    problem: SeriesProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
) -> DriftResult:
    current_rows = read_split("test")
    reference, current = last_hours(train, spec), last_hours(current_rows, spec)  # in time order
    result, snapshot = measure(reference, current, spec["columns"], (), None)
    persistence = persistence_baseline(spec)

    def persistence_mae(rows: pd.DataFrame) -> float:
        return float(np.mean(np.abs(persistence(rows) - rows[spec["target"]].to_numpy())))

    signal = {"reference_mae": persistence_mae(train), "current_mae": persistence_mae(current_rows)}

    def write(target: Path) -> None:
        snapshot.save_html(str(target))

    return DriftResult(
        {
            "status": "measured",
            "current": "test period (stand-in for new hours)",
            "reference": "training period",
            **result,
            "persistence_error": signal,
        },
        write,
    )


class SeriesKind:
    name = "series"
    param_keys: Mapping[str, frozenset[str]] = {
        "collect": frozenset(),
        "validate": frozenset({"max_missing_share"}),
        "featurize": frozenset({"test_fraction", "max_gap_hours"}),
        "train": frozenset({"recurrent_units"}),
        "evaluate": frozenset({"slices"}),
        "monitor": frozenset(),
    }

    def collect(self, problem: SeriesProblem, params: Params) -> None:
        collect(problem, params)

    def validate(self, problem: SeriesProblem, params: Params) -> None:
        validate(problem, params)

    def featurize(self, problem: SeriesProblem, params: Params) -> dict[str, Any]:
        return featurize(problem, params)

    def model_inputs(self, frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
        """The one input `window`: raw readings shaped (n, lookback_hours, columns), float32."""
        import tensorflow as tf

        return {"window": tf.constant(to_windows(frame, spec))}

    def signature_inputs(self, spec: dict[str, Any], train: pd.DataFrame) -> list[dict[str, Any]]:
        shape = [int(spec["lookback_hours"]), len(spec["columns"])]
        return [
            {
                "name": "window",
                "dtype": "float32",
                "shape": shape,
                "range": {"min": spec["minimum"], "max": spec["maximum"]},
                "columns": list(spec["columns"]),
            }
        ]

    def card_inputs(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "window": {
                "dtype": "float32",
                "shape": [None, int(spec["lookback_hours"]), len(spec["columns"])],
                "values": f"raw hourly readings, oldest first; columns {spec['columns']}",
            }
        }

    def write_savedmodel(self, model: Any, target: Path, spec: dict[str, Any]) -> None:
        import keras
        import tensorflow as tf

        shape = (None, int(spec["lookback_hours"]), len(spec["columns"]))
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            name="serve",
            fn=lambda window: model(window, training=False),
            input_signature=[tf.TensorSpec(shape=shape, dtype=tf.float32, name="window")],
        )
        archive.write_out(str(target), verbose=False)

    def baselines(
        self, problem: SeriesProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any]
    ) -> dict[str, tuple[Predictor, str]]:
        return {
            "common_sense": (persistence_baseline(spec), "persistence: the target 24 hours before the forecast hour"),
            "linear": (ridge_baseline(train, spec), "scikit-learn ridge regression on the flattened window"),
        }

    def importance(
        self,
        predict: Predictor,
        test: pd.DataFrame,
        actual: np.ndarray,
        score: Callable[[np.ndarray, np.ndarray], float],
        lower_is_better: bool,
        repeats: int,
        seed: int,
        spec: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Score lost when one station's (or one feature's) readings are shuffled across windows."""
        reference = score(actual, predict(test))
        columns = list(spec["columns"])
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(columns):
            station, feature = name.split("_", 1)
            groups.setdefault(f"station {station}", []).append(i)
            groups.setdefault(f"feature {feature}", []).append(i)
        rng = np.random.default_rng(seed)
        rows = []
        for group, indices in groups.items():
            losses = []
            for _ in range(repeats):
                value = score(actual, predict(shuffled(test, spec, indices, rng)))
                losses.append(value - reference if lower_is_better else reference - value)
            rows.append(
                {
                    "feature": group,
                    "score_loss_mean": float(np.mean(losses)),
                    "score_loss_std": float(np.std(losses)),
                    "reference_score": float(reference),
                }
            )
        return sorted(rows, key=lambda row: row["score_loss_mean"], reverse=True)

    def drift(
        self, problem: SeriesProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
    ) -> DriftResult:
        return drift(problem, params, train, spec, measure)

    def prediction_ids(self, test: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
        """The forecast hour (the objective plots forecasts against actuals over it)."""
        return pd.DataFrame({"timestamp": pd.to_datetime(test["timestamp"]).dt.tz_localize(None)})


SERIES = SeriesKind()

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

Its hooks live in modules beside this one: `series_source` (collect, validate) and `series_windows` (featurize); this
module gathers them and adds what a forecaster needs: the one window input and its signature, the persistence and
ridge baselines, shuffle importance per station and per feature, and the drift measure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import SeriesProblem
from tasks.core.artifacts import read_split
from tasks.core.params import Params
from tasks.kinds import series_source, series_windows
from tasks.kinds.contract import DriftResult, MeasureDrift, Predictor
from tasks.kinds.series_windows import to_windows

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
        series_source.collect(problem, params)

    def validate(self, problem: SeriesProblem, params: Params) -> None:
        series_source.validate(problem, params)

    def featurize(self, problem: SeriesProblem, params: Params) -> dict[str, Any]:
        return series_windows.featurize(problem, params)

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

"""The monitor's verdicts: data drift, prediction drift and performance of one window against a reference.

`assess(reference, current, ...)` is the data-drift verdict. Two signals, each saying why it fired:
- "data_drift": per column, the current window's scores against the reference (PSI; for numbers also the mean
  shift and the spread change) are compared with the same scores of windows of the same size cut from the reference
  (tasks/monitoring/calibration.py); a column drifts when it lies outside what the reference itself shows AND the books'
  rule holds (KS p < 0.05 with statistic > 0.1). Columns declared
  expected-to-change (calendar columns) are measured but never counted; columns are weighted (feature importance)
  and the signal fires when the weight of the drifted columns exceeds `min_weighted_drift` (default: any).
- "adversarial": a classifier telling current rows from reference rows (tasks/monitoring/adversarial.py); it fires when
its
  cross-validated ROC AUC exceeds both `adversarial_auc` (0.75) and what the same classifier reaches on reference
  windows against the rest of the reference (plus 0.02).
Every statistic is computed over the whole data (numpy/scipy: 1M rows x 15 columns in a few seconds); only the
adversarial classifier works on a bounded, seeded sample. The result is a JSON-able dict, identical for identical
inputs (floats rounded to 6 significant digits).

`prediction_drift` runs the same calibrated test on the model's outputs; `performance` scores a window whose ground
truth has arrived against the model's test-time figures and a floor.
Bad input (a column missing, a non-numeric value in a numeric column, bad settings) raises `DriftInputError` (a
ValueError) naming the column or setting.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError
from tasks.monitoring import adversarial, drift_stats
from tasks.monitoring.calibration import (
    Calibration,
    ReferenceWindows,
    calibrate,
    calibration_window_rows,
    column_verdict,
    evenly_spaced_starts,
    moment_scores,
    moment_window_scores,
    same_season_starts,
    weighted_share,
    window_scores,
)
from tasks.objectives.metrics import classification_metrics, lower_is_better, regression_metrics

ADVERSARIAL_MARGIN = 0.02  # AUC points above the reference windows' best before the classifier counts as drift
SIGNIFICANT_DIGITS = 6
WORKERS = 2


class DriftInputError(PipelineError, ValueError):
    """Input the monitor cannot compare (a missing column, a non-numeric value, bad settings); the message names it."""


@dataclass(frozen=True)
class DriftSettings:
    """How a window is judged. `window_rows`: size of the reference windows (None: the current window's size);
    `margin`: how far (relative) above the largest reference window's score a column must be;
    `adversarial_rows`: rows per side for the classifier (0 switches it off); `adversarial_reference_windows`:
    reference windows the classifier is calibrated on; `min_weighted_drift`: the weighted share of drifted columns
    the data-drift signal needs to exceed."""

    window_rows: int | None = None
    reference_windows: int = 20
    expected_to_change: tuple[str, ...] = ()
    weights: Mapping[str, float] | None = None
    ks_p: float = 0.05
    ks_statistic: float = 0.1
    adversarial_auc: float = 0.75
    adversarial_rows: int = 20_000
    seed: int = 0
    margin: float = 0.1
    adversarial_reference_windows: int = 5
    min_weighted_drift: float = 0.0
    workers: int = field(default=WORKERS, compare=False)


def drift_settings(values: Mapping[str, Any]) -> DriftSettings:
    """The engine's settings from params.yaml's `monitoring.drift` (the one place they are set: the monitoring loop
    and the DVC `monitor` stage both read them); a PipelineError naming an unknown key."""
    known = {f.name for f in dataclasses.fields(DriftSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise PipelineError(
            f"params.yaml: monitoring.drift has unknown key(s) {unknown}; expected some of {sorted(known)}"
        )
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return DriftSettings(**converted)


# --- input ------------------------------------------------------------------------------------------------------


def _check_settings(settings: DriftSettings) -> None:
    checks = {
        "window_rows": settings.window_rows is None or settings.window_rows >= 1,
        "reference_windows": settings.reference_windows >= 1,
        "ks_p": 0 < settings.ks_p < 1,
        "ks_statistic": 0 <= settings.ks_statistic < 1,
        "adversarial_auc": 0.5 <= settings.adversarial_auc <= 1,
        "adversarial_rows": settings.adversarial_rows >= 0,
        "adversarial_reference_windows": settings.adversarial_reference_windows >= 0,
        "margin": settings.margin >= 0,
        "min_weighted_drift": 0 <= settings.min_weighted_drift < 1,
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise DriftInputError(f"drift settings out of range: {', '.join(f'{b}={getattr(settings, b)!r}' for b in bad)}")


def _check_columns(frames: Mapping[str, pd.DataFrame], numeric: Sequence[str], categorical: Sequence[str]) -> None:
    both = set(numeric) & set(categorical)
    if both:
        raise DriftInputError(f"columns {sorted(both)} are listed as both numeric and categorical")
    if not [*numeric, *categorical]:
        raise DriftInputError("no columns to compare: numeric and categorical are both empty")
    for side, frame in frames.items():
        missing = [c for c in [*numeric, *categorical] if c not in frame.columns]
        if missing:
            raise DriftInputError(f"column {missing[0]!r} is missing from the {side} data (missing: {missing})")
        if frame.empty:
            raise DriftInputError(f"the {side} data has no rows")


def numeric_values(series: pd.Series, side: str) -> np.ndarray:
    """A numeric column as float64 (missing: NaN); DriftInputError naming the column and a non-numeric value."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        value = series[bad].iloc[0]
        raise DriftInputError(
            f"column {series.name!r} of the {side} data should be numeric, but holds {value!r} "
            f"({int(bad.sum())} value(s) that are not numbers)"
        )
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def categorical_codes(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Both sides' values as codes into the union of their categories, ordered by (type, text) so the codes do not
    depend on row order; missing values get the last code, len(categories)."""
    ref_codes, ref_uniques = pd.factorize(reference)
    cur_codes, cur_uniques = pd.factorize(current)
    union = list(dict.fromkeys([*ref_uniques, *cur_uniques]))
    categories = sorted(union, key=lambda v: (type(v).__name__, str(v)))
    index = pd.Index(categories, dtype=object)
    missing = len(categories)

    def recode(codes: np.ndarray, uniques: Any) -> np.ndarray:
        lookup = np.append(index.get_indexer(pd.Index(list(uniques), dtype=object)), missing)
        return lookup[codes]  # code -1 (missing) picks the appended last entry

    return recode(ref_codes, ref_uniques), recode(cur_codes, cur_uniques), categories


def _times(frame: pd.DataFrame, column: str, side: str) -> pd.Series:
    if column not in frame.columns:
        raise DriftInputError(f"time column {column!r} is missing from the {side} data")
    times = pd.to_datetime(frame[column], errors="coerce")
    if times.isna().any():
        raise DriftInputError(f"time column {column!r} of the {side} data has values that are not timestamps")
    return times


def _weights(settings: DriftSettings, columns: Sequence[str]) -> dict[str, float]:
    if settings.weights is None:
        return dict.fromkeys(columns, 1.0)
    missing = [c for c in columns if c not in settings.weights]
    if missing:
        raise DriftInputError(f"weights has no entry for column {missing[0]!r}; give every compared column a weight")
    weights = {c: float(settings.weights[c]) for c in columns}
    bad = [c for c, w in weights.items() if not (math.isfinite(w) and w >= 0)]
    if bad:
        raise DriftInputError(f"weight of column {bad[0]!r} must be a finite number >= 0, got {weights[bad[0]]!r}")
    return weights


# --- output -----------------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """`value` with floats rounded to 6 significant digits, NaN and infinity as None, numpy scalars as Python's."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return float(f"{number:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _spread(calibration: Calibration) -> dict[str, float]:
    return {"max": calibration.maximum, "p95": calibration.p95, "median": calibration.median}


# --- data drift -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One column's measurement: statistics of the current window, and per score (PSI first) its value for the
    current window and for every reference window."""

    kind: str
    test: str
    statistic: float
    p_value: float
    scores: dict[str, tuple[float, np.ndarray]]
    details: dict[str, float | int]


def _numeric_column(ref: np.ndarray, cur: np.ndarray, windows: ReferenceWindows) -> _Column:
    reference = drift_stats.numeric_reference(ref)
    found = drift_stats.numeric_statistics(reference, cur)
    codes = drift_stats.bin_codes(ref, reference.edges)
    scores = {"psi": (found["psi"], window_scores(codes, reference.edges.size + 2, windows))}
    if reference.sorted_values.size:
        center = float(reference.sorted_values.mean())
        scale = reference.std if reference.std > 0 else 1.0
        current = moment_scores(reference.std, cur, center, scale)
        for name, values in moment_window_scores(ref, windows, center, scale).items():
            scores[name] = (current[name], values)
    details = {"wasserstein_std": found["wasserstein_std"]}
    return _Column("numeric", "KS", found["ks_statistic"], found["ks_p"], scores, details)


def _categorical_column(ref: np.ndarray, cur: np.ndarray, categories: int, windows: ReferenceWindows) -> _Column:
    bins = categories + 1
    found = drift_stats.categorical_statistics(np.bincount(ref, minlength=bins), np.bincount(cur, minlength=bins))
    scores = {"psi": (found["psi"], window_scores(ref, bins, windows))}
    details = {"jensen_shannon": found["jensen_shannon"], "categories": categories}
    test = "total variation (chi2 p)"
    return _Column("categorical", test, found["total_variation"], found["chi2_p"], scores, details)


def _reference_windows(
    reference_rows: int,
    current_rows: int,
    settings: DriftSettings,
    times: pd.Series | None,
    current_start: pd.Timestamp | None,
) -> ReferenceWindows:
    rows = calibration_window_rows(reference_rows, settings.window_rows or current_rows)
    starts = evenly_spaced_starts(reference_rows, rows, settings.reference_windows)
    seasonal: tuple[int, ...] = ()
    if times is not None and current_start is not None:
        seasonal = tuple(s for s in same_season_starts(times, current_start, rows) if s not in starts)
    return ReferenceWindows(starts + seasonal, rows, len(seasonal))


def _beside(side_job: Callable[[], Any] | None, main_job: Callable[[], Any], workers: int) -> tuple[Any, Any]:
    """(side_job(), main_job()), the side job in a second thread when `workers` > 1 (numpy's sorts and searches
    and scikit-learn's tree building release the GIL for most of their work)."""
    if side_job is None:
        return None, main_job()
    if workers <= 1:
        return side_job(), main_job()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(side_job)
        main = main_job()
        return future.result(), main


def assess(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    settings: DriftSettings,
    time_column: str | None = None,
) -> dict[str, Any]:
    """Judge whether `current` drifted from `reference` in the named columns.

    `reference`: the data the model was trained on, in arrival order (sorted by `time_column` when given);
    `current`: the window to judge. Returns {"verdict": "drift" | "no_drift", "fired": [signals], "columns": {col:
    {"kind", "test", "ks_statistic", "ks_p", "score" (PSI), "reference_scores": {"max", "p95", "median"} (of PSI),
    "threshold" (PSI's), "scores": {name: {"value", "threshold", "reference_max"}} (PSI, mean_shift, std_ratio),
    "outside_reference", "books_rule", "drifted", "expected_to_change", "weight", "why", ...}}, "drifted_columns",
    "weighted_drift", "adversarial": {"roc_auc", "threshold", "drifted", "top_columns", "reference_auc", "why"},
    "reference_rows", "current_rows", "window_rows", "reference_windows", "same_season_windows"}.
    For a categorical column "ks_statistic" is the total variation distance and "ks_p" the chi-squared p-value.
    Raises DriftInputError (ValueError) naming the column or setting on bad input.
    """
    _check_settings(settings)
    _check_columns({"reference": reference, "current": current}, numeric, categorical)
    columns = [*numeric, *categorical]
    weights = _weights(settings, columns)
    expected = set(settings.expected_to_change)
    order: np.ndarray | slice = slice(None)
    times, current_start = None, None
    if time_column is not None:
        ref_times = _times(reference, time_column, "reference")
        order = np.argsort(ref_times.to_numpy(), kind="stable")
        times = ref_times.iloc[order]
        current_start = _times(current, time_column, "current").min()
    windows = _reference_windows(len(reference), len(current), settings, times, current_start)

    # Every column as one array per side, the reference's in time order (windows are contiguous in time).
    encoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    categories: dict[str, int] = {}
    for column in numeric:
        ref_values = numeric_values(reference[column], "reference")[order]
        encoded[column] = (ref_values, numeric_values(current[column], "current"))
    for column in categorical:
        ref_codes, cur_codes, names = categorical_codes(reference[column], current[column])
        encoded[column], categories[column] = (ref_codes[order], cur_codes), len(names)

    def measure(column: str) -> Callable[[], _Column]:
        ref, cur = encoded[column]
        if column in categories:
            return lambda: _categorical_column(ref, cur, categories[column], windows)
        return lambda: _numeric_column(ref, cur, windows)

    learnt = [c for c in columns if c not in expected]
    side = None
    if settings.adversarial_rows and learnt:
        side = lambda: _adversarial(encoded, learnt, windows, settings)  # noqa: E731
    adversarial_result, results = _beside(side, lambda: [measure(c)() for c in columns], settings.workers)
    if adversarial_result is None:
        adversarial_result = _adversarial_off(settings, learnt)

    report: dict[str, dict[str, Any]] = {}
    for column, measured in zip(columns, results, strict=True):
        calibrated = {
            name: (value, calibrate(spread, settings.margin)) for name, (value, spread) in measured.scores.items()
        }
        verdict = column_verdict(
            calibrated,
            measured.statistic,
            measured.p_value,
            test=measured.test,
            max_p=settings.ks_p,
            min_statistic=settings.ks_statistic,
            expected_to_change=column in expected,
            weight=weights[column],
        )
        psi_value, psi_calibration = calibrated["psi"]
        report[column] = {
            "kind": measured.kind,
            "test": measured.test,
            "ks_statistic": measured.statistic,
            "ks_p": measured.p_value,
            "score": psi_value,
            "reference_scores": _spread(psi_calibration),
            "threshold": psi_calibration.threshold,
            "scores": {
                name: {"value": value, "threshold": c.threshold, "reference_max": c.maximum}
                for name, (value, c) in calibrated.items()
            },
            "outside_reference": verdict.outside_reference,
            "books_rule": verdict.books_rule,
            "drifted": verdict.drifted,
            "expected_to_change": column in expected,
            "weight": weights[column],
            "why": verdict.why,
            **measured.details,
        }
    drifted = [c for c in columns if report[c]["drifted"]]
    counted = {c: weights[c] for c in columns if c not in expected}
    weighted = weighted_share(drifted, counted)
    fired = []
    if drifted and weighted > settings.min_weighted_drift:
        fired.append("data_drift")
    if adversarial_result["drifted"]:
        fired.append("adversarial")
    return jsonable(
        {
            "verdict": "drift" if fired else "no_drift",
            "fired": fired,
            "columns": report,
            "drifted_columns": drifted,
            "weighted_drift": weighted,
            "adversarial": adversarial_result,
            "reference_rows": len(reference),
            "current_rows": len(current),
            "window_rows": windows.rows,
            "reference_windows": len(windows.starts),
            "same_season_windows": windows.same_season,
        }
    )


# --- adversarial ------------------------------------------------------------------------------------------------


def _adversarial_off(settings: DriftSettings, learnt: Sequence[str]) -> dict[str, Any]:
    why = "switched off (adversarial_rows = 0)" if not settings.adversarial_rows else "no column to learn from"
    return {"roc_auc": None, "threshold": settings.adversarial_auc, "drifted": False, "top_columns": [], "why": why}


def _matrix(encoded: Mapping[str, tuple[np.ndarray, np.ndarray]], columns: Sequence[str], side: int, rows: Any):
    return np.column_stack([encoded[c][side][rows].astype("float64") for c in columns])


def _adversarial(
    encoded: Mapping[str, tuple[np.ndarray, np.ndarray]],
    columns: Sequence[str],
    windows: ReferenceWindows,
    settings: DriftSettings,
) -> dict[str, Any]:
    rng = np.random.default_rng(settings.seed)
    reference_rows = len(encoded[columns[0]][0])
    current_rows = len(encoded[columns[0]][1])
    size = min(settings.adversarial_rows, reference_rows, current_rows)
    if size < adversarial.FOLDS:
        return _adversarial_off(settings, columns) | {"why": f"too few rows ({size}) to cross-validate"}
    ref_rows = np.sort(rng.choice(reference_rows, size=size, replace=False))
    cur_rows = np.sort(rng.choice(current_rows, size=size, replace=False))
    found = adversarial.separability(
        _matrix(encoded, columns, 0, ref_rows), _matrix(encoded, columns, 1, cur_rows), columns, seed=settings.seed
    )
    # The same classifier on reference windows against the rest of the reference: how separable the reference's
    # own windows are (clustered data: very). Only needed when the books' threshold is passed; a smaller sample
    # (a tenth) keeps it cheap, and it stops at the first window as separable as the current one.
    calibration_size = max(adversarial.FOLDS, min(size, settings.adversarial_rows // 10, windows.rows))
    count = settings.adversarial_reference_windows if found["roc_auc"] > settings.adversarial_auc else 0
    picks = np.unique(np.round(np.linspace(0, len(windows.starts) - 1, count))).astype(int) if count else []
    reference_auc = []
    for pick in picks:
        start = windows.starts[pick]
        rest = reference_rows - windows.rows
        if min(rest, windows.rows) < adversarial.FOLDS:
            continue
        take = min(calibration_size, rest, windows.rows)
        inside = start + np.sort(rng.choice(windows.rows, size=take, replace=False))
        outside = np.sort(rng.choice(rest, size=take, replace=False))
        outside = np.where(outside >= start, outside + windows.rows, outside)
        window_found = adversarial.separability(
            _matrix(encoded, columns, 0, outside),
            _matrix(encoded, columns, 0, inside),
            columns,
            seed=settings.seed,
            explain=False,
        )
        reference_auc.append(window_found["roc_auc"])
        if window_found["roc_auc"] + ADVERSARIAL_MARGIN >= found["roc_auc"]:
            break  # the reference's own windows are this separable: decided, no drift
    reference_max = max(reference_auc, default=0.5)
    threshold = max(settings.adversarial_auc, reference_max + ADVERSARIAL_MARGIN)
    auc = found["roc_auc"]
    drifted = auc > threshold
    names = ", ".join(t["column"] for t in found["top_columns"]) or "no single column"
    if drifted:
        why = f"ROC AUC {auc:.3f} > threshold {threshold:.3f}: the rows are told apart, mostly by {names}"
    else:
        why = f"ROC AUC {auc:.3f} <= threshold {threshold:.3f} (books: {settings.adversarial_auc:g}"
        why += f"; reference windows reach {reference_max:.3f})" if reference_auc else ")"
    return {
        "roc_auc": auc,
        "threshold": threshold,
        "drifted": drifted,
        "top_columns": found["top_columns"],
        "reference_auc": {"max": reference_max if reference_auc else None, "windows": len(reference_auc)},
        "rows_each": found["rows_each"],
        "why": why,
    }


# --- prediction drift and performance ---------------------------------------------------------------------------


def prediction_drift(
    reference_outputs: pd.Series | pd.DataFrame | np.ndarray,
    current_outputs: pd.Series | pd.DataFrame | np.ndarray,
    settings: DriftSettings,
) -> dict[str, Any]:
    """The calibrated per-column test of `assess` on the model's outputs (no adversarial classifier).

    Outputs: 1-D (a regression's prediction, a binary probability) or 2-D (class probabilities, one column each),
    the reference's in arrival order. Returns {"drifted": bool, "verdict", "columns": {...as assess...},
    "drifted_columns", "why"}.
    """
    reference = _outputs_frame(reference_outputs, "reference")
    current = _outputs_frame(current_outputs, "current")
    if list(reference.columns) != list(current.columns):
        raise DriftInputError(
            f"reference outputs have columns {list(reference.columns)}, current outputs {list(current.columns)}"
        )
    plain = dataclasses.replace(settings, adversarial_rows=0, expected_to_change=(), weights=None)
    found = assess(reference, current, numeric=list(reference.columns), categorical=[], settings=plain)
    drifted = found["drifted_columns"]
    why = (
        "; ".join(f"{c}: {found['columns'][c]['why']}" for c in drifted)
        if drifted
        else "the outputs stay within what the reference windows show"
    )
    return {
        "drifted": bool(drifted),
        "verdict": found["verdict"],
        "columns": found["columns"],
        "drifted_columns": drifted,
        "reference_rows": found["reference_rows"],
        "current_rows": found["current_rows"],
        "window_rows": found["window_rows"],
        "why": why,
    }


def _outputs_frame(outputs: Any, side: str) -> pd.DataFrame:
    if isinstance(outputs, pd.DataFrame):
        frame = outputs.copy()
    elif isinstance(outputs, pd.Series):
        frame = outputs.rename("prediction").to_frame()
    else:
        array = np.asarray(outputs)
        if array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1):
            frame = pd.DataFrame({"prediction": array.ravel()})
        elif array.ndim == 2:
            frame = pd.DataFrame(array, columns=[f"class_{i}" for i in range(array.shape[1])])
        else:
            raise DriftInputError(f"{side} outputs must be 1-D or 2-D, got shape {array.shape}")
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


PERFORMANCE_METRICS = {"regression": ("rmse", "mae"), "classification": ("accuracy", "roc_auc")}


def performance(
    y_true: Any,
    y_pred: Any,
    task: str,
    reference_metrics: Mapping[str, float],
    floor: Mapping[str, float],
    *,
    classes: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Score a window whose ground truth arrived, against the model's test-time figures and a floor.

    Regression: RMSE and MAE of predictions. Classification: accuracy and ROC AUC of class probabilities ((n,)
    p(positive) or (n, k)); `classes` orders the probability columns (default: the sorted labels of `y_true`).
    `floor`: the worst acceptable value per metric (a maximum for RMSE/MAE, a minimum for accuracy/ROC AUC).
    Returns {"task", "rows", "metrics", "reference", "change_pct" (positive = worse), "floor", "breaches",
    "degraded": bool, "why"}. Raises DriftInputError for an unknown task or metric, or arrays that do not pair up.
    """
    if task not in PERFORMANCE_METRICS:
        raise DriftInputError(f"unknown task {task!r}; expected one of {sorted(PERFORMANCE_METRICS)}")
    names = PERFORMANCE_METRICS[task]
    unknown = sorted(set(floor) - set(names))
    if unknown:
        raise DriftInputError(f"floor names metric {unknown[0]!r}; the {task} metrics are {list(names)}")
    try:
        if task == "regression":
            scores = regression_metrics(y_true, y_pred)
        else:
            labels = list(classes) if classes is not None else sorted(pd.unique(np.asarray(y_true).ravel()).tolist())
            if classes is None and set(labels) <= {0, 1}:
                labels = [0, 1]  # a window holding one class of a binary task
            scores = classification_metrics(y_true, y_pred, labels)
    except ValueError as err:
        raise DriftInputError(f"performance of the {task} window: {err}") from None
    metrics = {name: float(scores[name]) if scores[name] is not None else math.nan for name in names}
    change = {}
    for name in names:
        if name in reference_metrics and math.isfinite(metrics[name]):
            before = float(reference_metrics[name])
            worse = metrics[name] - before if lower_is_better(name) else before - metrics[name]
            change[name] = 100.0 * worse / abs(before) if before else math.nan
    breaches = []
    for name, limit in floor.items():
        value = metrics[name]
        if not math.isfinite(value):
            continue
        if (value > limit) if lower_is_better(name) else (value < limit):
            side = "above the maximum" if lower_is_better(name) else "below the minimum"
            breaches.append(f"{name} {value:.4g} {side} {limit:g}")
    figures = ", ".join(
        f"{n} {metrics[n]:.4g}" + (f" (test {reference_metrics[n]:.4g})" if n in reference_metrics else "")
        for n in names
    )
    why = f"degraded: {'; '.join(breaches)}" if breaches else f"within the floor: {figures}"
    return jsonable(
        {
            "task": task,
            "rows": int(np.asarray(y_true).shape[0]),
            "metrics": metrics,
            "reference": {k: float(v) for k, v in reference_metrics.items()},
            "change_pct": change,
            "floor": dict(floor),
            "breaches": breaches,
            "degraded": bool(breaches),
            "why": why,
        }
    )

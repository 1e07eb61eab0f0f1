"""The monitor's data-drift verdict: `assess(reference, current, ...)` judges one window against a reference.

Two signals, each saying why it fired:
- "data_drift": per column, the current window's scores against the reference (PSI; for numbers also the mean
  shift and the spread change) are compared with the same scores of windows of the same size cut from the reference
  (tasks/monitoring/calibration.py); a column drifts when it lies outside what the reference itself shows AND the books'
  rule holds (KS p < 0.05 with statistic > 0.1). Columns declared
  expected-to-change (calendar columns) are measured but never counted; columns are weighted (feature importance)
  and the signal fires when the weight of the drifted columns exceeds `min_weighted_drift` (default: any).
- "adversarial": a classifier telling current rows from reference rows (tasks/monitoring/adversarial.py); it fires when
  its cross-validated ROC AUC exceeds both `adversarial_auc` (0.75) and what the same classifier reaches on reference
  windows against the rest of the reference (plus 0.02).
Every statistic is computed over the whole data (numpy/scipy: 1M rows x 15 columns in a few seconds); only the
adversarial classifier works on a bounded, seeded sample. The result is a JSON-able dict, identical for identical
inputs (floats rounded to 6 significant digits: `jsonable`). The settings and the input checks are
tasks/monitoring/drift_input.py's; bad input raises its `DriftInputError` (a ValueError) naming the column or setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
from tasks.monitoring.drift_input import (
    DriftSettings,
    categorical_codes,
    check_columns,
    check_settings,
    column_weights,
    numeric_values,
    time_values,
)

ADVERSARIAL_MARGIN = 0.02  # AUC points above the reference windows' best before the classifier counts as drift
SIGNIFICANT_DIGITS = 6


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


class CurrentStatistics:
    """The current window's side of the statistics, here in this process; tasks/monitoring/drift_on_dask.py's
    `OnDask` reduces the same on Dask workers (`compute.scheduler`)."""

    def numeric(self, reference: drift_stats.NumericReference, current: np.ndarray) -> dict[str, float]:
        return drift_stats.numeric_statistics(reference, current)

    def counts(self, codes: np.ndarray, bins: int) -> np.ndarray:
        return np.bincount(codes, minlength=bins)


HERE = CurrentStatistics()


def _numeric_column(
    ref: np.ndarray, cur: np.ndarray, windows: ReferenceWindows, on: CurrentStatistics = HERE
) -> _Column:
    reference = drift_stats.numeric_reference(ref)
    found = on.numeric(reference, cur)
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


def _categorical_column(
    ref: np.ndarray, cur: np.ndarray, categories: int, windows: ReferenceWindows, on: CurrentStatistics = HERE
) -> _Column:
    bins = categories + 1
    found = drift_stats.categorical_statistics(np.bincount(ref, minlength=bins), on.counts(cur, bins))
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
    on: CurrentStatistics = HERE,
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
    Raises DriftInputError (ValueError) naming the column or setting on bad input. `on`: where the current window's
    statistics are reduced (this process, or Dask workers: tasks/monitoring/drift_on_dask.py).
    """
    check_settings(settings)
    check_columns({"reference": reference, "current": current}, numeric, categorical)
    columns = [*numeric, *categorical]
    weights = column_weights(settings, columns)
    expected = set(settings.expected_to_change)
    order: np.ndarray | slice = slice(None)
    times, current_start = None, None
    if time_column is not None:
        ref_times = time_values(reference, time_column, "reference")
        order = np.argsort(ref_times.to_numpy(), kind="stable")
        times = ref_times.iloc[order]
        current_start = time_values(current, time_column, "current").min()
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
            return lambda: _categorical_column(ref, cur, categories[column], windows, on)
        return lambda: _numeric_column(ref, cur, windows, on)

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

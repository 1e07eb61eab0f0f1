"""The signals on the model's predictions in a window: prediction drift and performance.

`prediction_drift` runs the calibrated per-column test of the data-drift verdict (tasks/monitoring/data_drift.py
`assess`) on the model's outputs; `performance` scores a window whose ground truth has arrived against the model's
test-time figures and a floor. Bad input raises `DriftInputError` (tasks/monitoring/drift_input.py, a ValueError)
naming what does not fit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tasks.monitoring.data_drift import assess, jsonable
from tasks.monitoring.drift_input import DriftInputError, DriftSettings
from tasks.objectives.metrics import classification_metrics, lower_is_better, regression_metrics


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

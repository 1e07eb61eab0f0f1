"""The monitor stage's drift measurement, shared by every kind: the verdict of the monitoring loop's calibrated engine
(tasks/monitoring/data_drift.py, settings `monitoring.drift`), and Evidently's DataDriftPreset for the page's pictures.

A table compares its feature and target columns, images per-image statistics, text per-text statistics, a series its
hourly readings. The verdict, and every verdict field of drift.json, come from `assess`: a column drifts when its
scores lie outside what windows of the same size cut from the reference show AND the books' rule holds (KS p < 0.05
with statistic > 0.1); the data drift signal fires when the weight of the drifted columns exceeds
`min_weighted_drift`, the adversarial signal when a classifier tells the rows apart better than it tells the
reference's own windows apart. Evidently's report only draws the distributions; its own headline applies the preset's
uncalibrated 50 % share rule, which the pipeline does not use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from tasks.core.compute import Scheduler, dask_client
from tasks.core.params import Params
from tasks.monitoring.data_drift import assess
from tasks.monitoring.drift_input import DriftSettings, drift_settings
from tasks.monitoring.drift_on_dask import OnDask

LOCAL = Scheduler()
log = logging.getLogger(__name__)


def monitor_settings(params: Params) -> DriftSettings:
    """The engine's settings for the monitor stage: `monitoring.drift`, the very settings the monitoring loop uses."""
    return drift_settings(dict(params.get("monitoring.drift", (dict, type(None)), None) or {}))


def rule_in_words(settings: DriftSettings, verdict: dict[str, Any]) -> str:
    """The rule that gave `verdict` (a result of `assess`), in one sentence."""
    expected = ", ".join(settings.expected_to_change)
    return (
        f"calibrated on {verdict['reference_windows']} windows of {verdict['window_rows']} rows cut from the reference "
        f"(the monitoring loop's rule, params monitoring.drift): a column drifts when its PSI, mean shift or spread "
        f"change exceeds the largest reference window's by {settings.margin:.0%} and KS/chi2 p < {settings.ks_p:g} "
        f"with statistic > {settings.ks_statistic:g}; drift when the weighted share of drifted columns exceeds "
        f"{settings.min_weighted_drift:g}, or a classifier tells the rows apart (ROC AUC above "
        f"{settings.adversarial_auc:g} and above the reference windows' own)"
        + (f"; expected to change, never counted: {expected}" if expected else "")
    )


def verdict_summary(verdict: dict[str, Any], settings: DriftSettings, columns: int) -> dict[str, Any]:
    """drift.json's verdict fields from a result of `assess`.

    `dataset_drift` (the verdict as a bool) and `drift_share` (the weighted share of drifted columns, calibrated)
    keep the names the flows and the drift event read."""
    adversarial = verdict.get("adversarial") or {}
    return {
        "verdict": verdict["verdict"],
        "dataset_drift": verdict["verdict"] == "drift",
        "signals_fired": list(verdict["fired"]),
        "drift_share": verdict["weighted_drift"],
        "drifted_columns": list(verdict["drifted_columns"]),
        "rule": rule_in_words(settings, verdict),
        "why": {name: column["why"] for name, column in verdict["columns"].items()},
        "adversarial": {
            "roc_auc": adversarial.get("roc_auc"),
            "threshold": adversarial.get("threshold"),
            "fired": bool(adversarial.get("drifted")),
            "why": adversarial.get("why", ""),
        },
        "columns_checked": columns,
        "reference_rows": verdict["reference_rows"],
        "current_rows": verdict["current_rows"],
        "reference_windows": verdict["reference_windows"],
        "window_rows": verdict["window_rows"],
    }


def evidently_snapshot(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> Any:
    """Evidently's DataDriftPreset over the named columns: the distributions drift.html shows (no verdict is read
    from it)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = [*numeric, *categorical]
    definition = DataDefinition(numerical_columns=list(numeric), categorical_columns=list(categorical))
    report = Report([DataDriftPreset()], include_tests=True)
    return report.run(
        current_data=Dataset.from_pandas(current[columns].reset_index(drop=True), data_definition=definition),
        reference_data=Dataset.from_pandas(reference[columns].reset_index(drop=True), data_definition=definition),
    )


def measurer(settings: DriftSettings, scheduler: Scheduler = LOCAL) -> Callable[..., tuple[dict[str, Any], Any]]:
    """`measure` with the engine's settings bound: what the monitor stage hands a kind's `drift`
    (tasks/kinds/contract.py MeasureDrift); with a `compute.scheduler` other than local the current window's
    statistics are reduced on the Dask workers."""

    def bound(
        reference: pd.DataFrame,
        current: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str],
        time_column: str | None = None,
    ) -> tuple[dict[str, Any], Any]:
        return measure(reference, current, numeric, categorical, settings, time_column, scheduler)

    return bound


def measure(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    settings: DriftSettings,
    time_column: str | None = None,
    scheduler: Scheduler = LOCAL,
) -> tuple[dict[str, Any], Any]:
    """The calibrated verdict of `current` against `reference` over the named columns, and Evidently's snapshot for
    the page: (drift.json's verdict fields, snapshot).

    `reference` in arrival order, or with `time_column` to sort it by (and to add same-season windows); a
    DriftInputError (ValueError) names a missing or non-numeric column."""
    columns = {"numeric": numeric, "categorical": categorical, "settings": settings, "time_column": time_column}
    if scheduler.is_local:
        verdict = assess(reference, current, **columns)
    else:
        with dask_client(scheduler) as client:
            workers = len(client.scheduler_info().get("workers", {}))
            log.info("reducing the current window's drift statistics on %d Dask worker(s)", workers)
            verdict = assess(reference, current, **columns, on=OnDask(client, partitions=2 * max(1, workers)))
    summary = verdict_summary(verdict, settings, len([*numeric, *categorical]))
    return summary, evidently_snapshot(reference, current, numeric, categorical)

"""Evidently's own DataDriftPreset verdict (a share of drifted columns against `drift_share`): the uncalibrated
baseline the benchmarks compare the calibrated engine with. The pipeline never reads it (tasks/monitoring/drift.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from tasks.monitoring.drift import evidently_snapshot


def drift_results(snapshot: Any) -> tuple[float, list[str]]:
    """(share of drifted columns, drifted column names) from an Evidently DataDriftPreset snapshot."""
    drifted, share = [], 0.0
    for metric in snapshot.dict()["metrics"]:
        name = str(metric.get("metric_name", ""))
        value = metric.get("value")
        if name.startswith("DriftedColumnsCount"):
            share = float(value["share"])
        elif name.startswith("ValueDrift"):
            column = name.split("column=", 1)[1].split(",", 1)[0]
            threshold = float(name.rsplit("threshold=", 1)[1].rstrip(")"))
            # Evidently reports a p-value for statistical tests (drift when below the threshold)
            # and a distance for distance metrics (drift when above it).
            if (value < threshold) if "p_value" in name else (value >= threshold):
                drifted.append(column)
    return share, sorted(drifted)


def preset_verdict(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    drift_share: float = 0.5,
) -> dict[str, Any]:
    """The preset's verdict: {"dataset_drift", "drift_share", "drifted_columns"} (drift_share: its default 0.5)."""
    share, drifted = drift_results(evidently_snapshot(reference, current, numeric, categorical))
    return {"dataset_drift": share >= drift_share, "drift_share": share, "drifted_columns": drifted}

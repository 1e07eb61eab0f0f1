"""Drift between a reference and a current frame of columns, measured with Evidently's DataDriftPreset.

Shared by every kind: a table compares its feature and target columns, images compare per-image statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd


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


def measure(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    drift_share: float,
) -> tuple[dict[str, Any], Any]:
    """Run Evidently's DataDriftPreset over the named columns; return (summary, snapshot)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = [*numeric, *categorical]
    definition = DataDefinition(numerical_columns=list(numeric), categorical_columns=list(categorical))
    report = Report([DataDriftPreset(drift_share=drift_share)], include_tests=True)
    snapshot = report.run(
        current_data=Dataset.from_pandas(current[columns].reset_index(drop=True), data_definition=definition),
        reference_data=Dataset.from_pandas(reference[columns].reset_index(drop=True), data_definition=definition),
    )
    share, drifted = drift_results(snapshot)
    summary = {
        "drift_share": share,
        "drift_share_threshold": drift_share,
        "dataset_drift": share >= drift_share,
        "drifted_columns": sorted(drifted),
        "columns_checked": len(columns),
        "reference_rows": len(reference),
        "current_rows": len(current),
    }
    return summary, snapshot

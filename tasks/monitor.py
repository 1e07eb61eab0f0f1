"""monitor: compare the data that arrived after `collect.as_of` with the training data, using Evidently.

The current window is `monitor.window_days` days from `collect.as_of`, read from the same source collect reads;
the reference is the training split. Outputs (reports/monitoring/): `drift.html` (Evidently's self-contained
report) and `drift.json` (drift share, drifted columns, verdict), which a Prefect automation can act on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import load_problem
from pipelines.problem import TabularProblem
from tasks.atomic import atomic_file, write_text
from tasks.collect import parse_as_of
from tasks.errors import run_stage
from tasks.params import Params
from tasks.sources import read_sources
from tasks.train import read_split

REPORT_DIR = Path("reports/monitoring")
log = logging.getLogger(__name__)


def current_window(frame: pd.DataFrame, problem: TabularProblem, start: pd.Timestamp, days: int) -> pd.DataFrame:
    """Rows of the source with a timestamp in [start, start + days)."""
    stamps = problem.derive_timestamp(frame)
    end = start + pd.Timedelta(days=days)
    return frame.loc[(stamps >= start) & (stamps < end)].assign(**{problem.timestamp: stamps})


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


def measure_drift(
    reference: pd.DataFrame, current: pd.DataFrame, problem: TabularProblem, drift_share: float
) -> tuple[dict[str, Any], Any]:
    """Run Evidently's DataDriftPreset over the features and the target; return (summary, snapshot)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [*problem.numeric_features, problem.target]
    categorical = list(problem.categorical_features)
    columns = numeric + categorical
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
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


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    if problem.kind == "image":  # images take their own path through this stage
        from tasks import image_monitor

        return image_monitor.main(params, problem)
    start = parse_as_of(params.raw("collect.as_of"))
    days = params.get("monitor.window_days", int, minimum=1)
    threshold = params.get("monitor.drift_share", float, minimum=0.0, maximum=1.0)
    source, _ = read_sources(params.get("collect.source", str))
    current = current_window(source, problem, start, days)
    reference = read_split("train")
    window = {"from": start.isoformat(), "to": (start + pd.Timedelta(days=days)).isoformat()}

    # File by file (each atomic): DVC keeps its own .gitignore in this folder.
    if current.empty:
        summary = {"status": "no_data", "window": window, "dataset_drift": False, "drift_share": 0.0}
        write_text(REPORT_DIR / "drift.html", f"<!doctype html><p>No rows arrived in {window}.</p>\n")
    else:
        summary, snapshot = measure_drift(reference, current, problem, threshold)
        summary = {"status": "measured", "window": window, **summary}
        with atomic_file(REPORT_DIR / "drift.html") as tmp:
            snapshot.save_html(str(tmp))
    write_text(REPORT_DIR / "drift.json", json.dumps(summary, indent=2) + "\n")
    log.info(
        "window %s..%s: drift share %.2f (threshold %.2f), dataset drift: %s; drifted: %s",
        window["from"],
        window["to"],
        summary["drift_share"],
        threshold,
        summary["dataset_drift"],
        summary.get("drifted_columns", []),
    )


if __name__ == "__main__":
    run_stage("monitor", main)

"""The table kind's monitor: the rows that arrived after `collect.as_of`, compared with the training split.

The current window is `monitor.window_days` days from `collect.as_of`, read from the same source collect reads.
A window with no rows, or a table without a time column (it has no "new rows"), gives the "no data" result.
The summary's `window` is data time (tasks/data_time.py): the first and last timestamp of the rows compared, with
the period asked for under `asked`; with no rows, the period asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.problem import TabularProblem
from tasks.data_time import DATA, data_window, iso
from tasks.drift import measure
from tasks.kinds.contract import DriftResult
from tasks.kinds.table_source import conform_columns, parse_as_of
from tasks.params import Params
from tasks.sources import read_sources


def current_window(frame: pd.DataFrame, problem: TabularProblem, start: pd.Timestamp, days: int) -> pd.DataFrame:
    """Rows of the source with a timestamp in [start, start + days); an empty frame when none."""
    stamps = problem.derive_timestamp(frame)
    end = start + pd.Timedelta(days=days)
    inside = (stamps >= start) & (stamps < end)
    return frame.loc[inside].assign(**{problem.timestamp: stamps.loc[inside]})


def measure_drift(
    reference: pd.DataFrame, current: pd.DataFrame, problem: TabularProblem, drift_share: float
) -> tuple[dict[str, Any], Any]:
    """Evidently's DataDriftPreset over the features and the target; (summary, snapshot)."""
    numeric = [*problem.numeric_features]
    categorical = list(problem.categorical_features)
    if problem.task == "regression":
        numeric.append(problem.target)
    else:
        categorical.append(problem.target)
    return measure(reference, current, numeric, categorical, drift_share)


def _no_data(text: str) -> Any:
    def write(target: Path) -> None:
        target.write_text(f"<!doctype html><meta charset=utf-8><p>{text}</p>\n", encoding="utf-8")

    return write


def drift(problem: TabularProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any]) -> DriftResult:
    threshold = params.get("monitor.drift_share", float, minimum=0.0, maximum=1.0)
    if not problem.timestamp:
        text = f"problem '{problem.name}' has no time column: no rows arrive after training to compare"
        return DriftResult(
            {"status": "no_data", "reason": text, "dataset_drift": False, "drift_share": 0.0}, _no_data(text)
        )
    start = parse_as_of(params.raw("collect.as_of"))
    days = params.get("monitor.window_days", int, minimum=1)
    asked = {"from": iso(start), "to": iso(start + pd.Timedelta(days=days)), "time": DATA}
    source, _ = read_sources(params.get("collect.source", str))
    current = current_window(conform_columns(source, problem, params.get("collect.source", str)), problem, start, days)
    if current.empty:
        summary = {"status": "no_data", "window": asked, "dataset_drift": False, "drift_share": 0.0}
        return DriftResult(summary, _no_data(f"No rows arrived in {asked['from']} .. {asked['to']}."))
    window = {**(data_window(current[problem.timestamp]) or asked), "asked": asked}
    if problem.task == "classification":  # the training split holds class indices, the source the values
        values = [str(v) for v in spec["class_values"]]
        train = train.assign(**{problem.target: [values[i] for i in train[problem.target]]})
        current = current.assign(**{problem.target: current[problem.target].astype(str)})
    summary, snapshot = measure_drift(train, current, problem, threshold)

    def write(target: Path) -> None:
        snapshot.save_html(str(target))

    return DriftResult({"status": "measured", "window": window, **summary}, write)

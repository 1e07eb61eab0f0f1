"""The table kind's monitor: the rows that arrived after `collect.as_of`, compared with the training split.

The current window is `monitor.window_days` days from `collect.as_of`, read from the same source collect reads, judged
by the monitoring loop's calibrated rule (tasks/monitoring/drift.py, settings `monitoring.drift`). A window with no
rows, or a
table without a time column (it has no "new rows"), gives the "no data" result, with the reason in words.
The summary's `window` is data time (tasks/core/data_time.py): the first and last timestamp of the rows compared, with
the period asked for under `asked`; with no rows, the period asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.problem import TabularProblem
from tasks.core.data_time import DATA, data_window, iso
from tasks.core.params import Params
from tasks.data.sources import read_sources
from tasks.kinds.contract import DriftResult, MeasureDrift
from tasks.kinds.table_source import conform_columns, parse_as_of, read_options


def current_window(frame: pd.DataFrame, problem: TabularProblem, start: pd.Timestamp, days: int) -> pd.DataFrame:
    """Rows of the source with a timestamp in [start, start + days); an empty frame when none."""
    stamps = problem.derive_timestamp(frame)
    end = start + pd.Timedelta(days=days)
    inside = (stamps >= start) & (stamps < end)
    return frame.loc[inside].assign(**{problem.timestamp: stamps.loc[inside]})


def measure_drift(
    reference: pd.DataFrame, current: pd.DataFrame, problem: TabularProblem, measure: MeasureDrift
) -> tuple[dict[str, Any], Any]:
    """The calibrated verdict over the features and the target (tasks/monitoring/drift.py); (summary, Evidently
    snapshot).

    Both frames carry the problem's time column: the reference is cut into windows in time order, and a reference
    that spans the current window's season adds windows of that season."""
    numeric = [*problem.numeric_features]
    categorical = list(problem.categorical_features)
    if problem.task == "regression":
        numeric.append(problem.target)
    else:
        categorical.append(problem.target)
    time_column = problem.timestamp if problem.timestamp in reference and problem.timestamp in current else None
    return measure(reference, current, numeric, categorical, time_column)


def _no_data(text: str) -> Any:
    def write(target: Path) -> None:
        target.write_text(f"<!doctype html><meta charset=utf-8><p>{text}</p>\n", encoding="utf-8")

    return write


NO_TIME = (
    "problem '{name}' has no time column, so no rows arrive after training: the monitor stage has no new window to "
    "compare with the training split. Production monitoring (make monitor) judges the served rows "
    "in the prediction log against the training data instead."
)


def drift(
    problem: TabularProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
) -> DriftResult:
    if not problem.timestamp:
        text = NO_TIME.format(name=problem.name)
        summary = {"status": "no_data", "reason": text, "verdict": "no_data", "dataset_drift": False}
        return DriftResult(summary, _no_data(text))
    start = parse_as_of(params.raw("collect.as_of"))
    days = params.get("monitor.window_days", int, minimum=1)
    asked = {"from": iso(start), "to": iso(start + pd.Timedelta(days=days)), "time": DATA}
    compared = {
        "current": f"the {days} days after collect.as_of {start:%Y-%m-%d}",
        "reference": "the training split",
    }
    source, _ = read_sources(params.get("collect.source", str), options=read_options(params))
    current = current_window(conform_columns(source, problem, params.get("collect.source", str)), problem, start, days)
    if current.empty:
        text = f"No rows of the source fell in {compared['current']} ({asked['from']} to {asked['to']})."
        summary = {"status": "no_data", "reason": text, "window": asked, "verdict": "no_data", "dataset_drift": False}
        return DriftResult(summary | compared, _no_data(text))
    window = {**(data_window(current[problem.timestamp]) or asked), "asked": asked}
    if problem.task == "classification":  # the training split holds class indices, the source the values
        values = [str(v) for v in spec["class_values"]]
        train = train.assign(**{problem.target: [values[i] for i in train[problem.target]]})
        current = current.assign(**{problem.target: current[problem.target].astype(str)})
    summary, snapshot = measure_drift(train, current, problem, measure)

    def write(target: Path) -> None:
        snapshot.save_html(str(target))

    return DriftResult({"status": "measured", "window": window, **compared, **summary}, write)

"""Monitor production: windows of the prediction log (or a new data batch) against the production version's own
training data, with three signals and one verdict per window.

    python -m tasks.monitoring.window                      # the windows of the log not assessed yet (or relabelled)
    python -m tasks.monitoring.window --all                # every complete window again (same windows: same files)
    python -m tasks.monitoring.window --batch new.parquet  # a batch of new data (csv/parquet) as one window
    python -m tasks.monitoring.window --emit-event         # and emit the drift event for each drifted window

For the production version (the store's pointer, `deploy.store`), the windows (`monitoring.window`) of its rows in
the prediction log (`serving.log.dir`) are compared with the training data its model card names
(tasks/monitoring/reference.py):
- data drift: every input column of every row the server was sent, refused ones included
  (tasks/monitoring/data_drift.py `assess`: calibrated on the reference's own windows, KS, adversarial validation);
- prediction drift: the outputs served (answered rows) against the version's outputs on its training data;
- performance: where ground truth has arrived (`<log dir>/ground_truth/*.parquet`: request_id, instance and the
  target or `label`; the server's `POST /v1/models/<name>/feedback` writes there), the window's error against the
  model's test-time figures and `monitoring.performance_floor`, with the count of labelled rows; judged only from
  `monitoring.min_labelled_rows` on. A window whose labels changed since it was assessed is assessed again, so late
  labels update past windows' performance in the history.
Each window's verdict goes to reports/monitoring/ (JSON, HTML, the Parquet history, the trend page); on drift the
Prefect event `trainline.drift.detected` starts the retraining deployment (when asked: `--emit-event`, or the
monitoring flow). Monitoring only reads: it never retrains and never moves `collect.as_of`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.data_time import DATA, NONE, data_window
from tasks.core.errors import PipelineError, run_stage
from tasks.core.params import PARAMS_FILE, Params
from tasks.kinds.selection import select
from tasks.monitoring.alert import emit_window_drift, notify
from tasks.monitoring.history import assessed_sizes, read_history, record_windows, window_stem, write_verdict
from tasks.monitoring.log_files import log_folder
from tasks.monitoring.log_reader import GROUND_TRUTH_DIR, join_ground_truth, read_ground_truth, read_prediction_log
from tasks.monitoring.page import write_monitoring_index, write_window_page
from tasks.monitoring.reference import Reference, as_prediction_column, model_outputs, production_reference
from tasks.monitoring.window_evidently import evidently_name, write_evidently_page
from tasks.monitoring.windows import Window, WindowRule, cut_windows, last_window_end, parse_rule
from tasks.store.location import store_from_params
from tasks.store.pointer import checked_production

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitoringSettings:
    """`monitoring:` of params.yaml (read by this command, not by a DVC stage)."""

    rule: WindowRule
    log_dir: Path | str  # a local folder, or an s3:// prefix (str)
    ground_truth_dir: Path | str
    out_dir: Path
    min_rows: int = 100
    min_labelled_rows: int = 30  # fewer labelled rows: performance measured and shown, never judged
    evidently_rows: int = 5000  # Evidently's page per window, on at most this many rows a side; 0: no such page
    drift: dict[str, Any] = field(default_factory=dict)  # DriftSettings fields
    performance_floor: dict[str, Any] = field(default_factory=dict)
    max_worse_pct: float = 50.0
    reports: str = "reports/monitoring"  # as params.yaml names it (relative to the workspace): the verdict's links
    notify_block: str | None = None

    @classmethod
    def from_params(cls, params: Params, workspace: Path = Path()) -> MonitoringSettings:
        """The settings, relative paths taken from `workspace` (the repository root)."""
        log_dir = params.get("monitoring.log_dir", (str, type(None)), None) or params.get(
            "serving.log.dir", str, "data/prediction_log"
        )
        truth = params.get("monitoring.ground_truth", (str, type(None)), None)

        def where(path: str) -> Path | str:  # an s3:// prefix as it is, a local path under the workspace
            return path if "://" in path else workspace / path

        return cls(
            rule=parse_rule(params.raw("monitoring.window", {"size": "7d", "step": "7d"}), "monitoring.window"),
            log_dir=where(log_dir),
            ground_truth_dir=where(truth) if truth else where(f"{log_dir.rstrip('/')}/{GROUND_TRUTH_DIR}"),
            out_dir=workspace / params.get("monitoring.reports", str, "reports/monitoring"),
            reports=params.get("monitoring.reports", str, "reports/monitoring"),
            min_rows=params.get("monitoring.min_rows", int, 100, minimum=1),
            min_labelled_rows=params.get("monitoring.min_labelled_rows", int, 30, minimum=1),
            evidently_rows=params.get("monitoring.evidently_rows", int, 5000, minimum=0),
            drift=dict(params.get("monitoring.drift", (dict, type(None)), None) or {}),
            performance_floor=dict(params.get("monitoring.performance_floor", (dict, type(None)), None) or {}),
            max_worse_pct=params.get("monitoring.performance_max_worse_pct", float, 50.0, minimum=0.0),
            notify_block=params.get("monitoring.notify_block", (str, type(None)), None),
        )


def performance_floor(reference_metrics: dict[str, float], absolute: dict[str, Any], max_worse_pct: float) -> dict:
    """The worst acceptable value per metric: the stricter of `monitoring.performance_floor` (absolute) and the
    model's test-time figure made `max_worse_pct` % worse."""
    from tasks.monitoring.prediction_signals import PERFORMANCE_METRICS
    from tasks.objectives.metrics import lower_is_better

    known = {name for names in PERFORMANCE_METRICS.values() for name in names}
    floor: dict[str, float] = {}
    for name, value in absolute.items():
        if name not in known or not isinstance(value, int | float) or isinstance(value, bool):
            raise PipelineError(
                f"params.yaml: monitoring.performance_floor.{name}: expected a number for one of {sorted(known)}"
            )
        floor[name] = float(value)
    for name, test_value in reference_metrics.items():
        if name not in known:
            continue
        lower = lower_is_better(name)
        relative = test_value * (1 + max_worse_pct / 100) if lower else test_value * (1 - max_worse_pct / 100)
        floor[name] = min(floor.get(name, relative), relative) if lower else max(floor.get(name, relative), relative)
    return floor


def _worst_column(result: dict[str, Any]) -> dict[str, Any]:
    """The output column whose score lies furthest above its threshold (a regression has one, `prediction`)."""
    columns = list((result.get("columns") or {}).values())
    return max(columns, key=lambda c: (c.get("score") or 0) - (c.get("threshold") or 0), default={})


def assess_window(
    reference: Reference,
    reference_outputs: np.ndarray,
    rows: pd.DataFrame,
    bounds: dict[str, str],
    settings: MonitoringSettings,
) -> dict[str, Any]:
    """The verdict of one window: the signals (data drift, adversarial validation, prediction drift, performance),
    which fired and why, and the window's facts.

    `rows` holds the input columns, `prediction` (what was served), `refused` (why the server refused a row; those
    count in data drift only) and the target where ground truth is known. The reference is in time order; windows
    cut from it calibrate each column (tasks/monitoring/data_drift.py).
    """
    from tasks.monitoring.data_drift import assess
    from tasks.monitoring.drift_input import drift_settings
    from tasks.monitoring.prediction_signals import performance, prediction_drift

    engine = drift_settings(settings.drift)
    time_column = reference.time_column if reference.time_column in rows else None  # a batch with its own times
    # Both sides as the model sees them: the server takes numbers as float32 and logs those values, so a float64
    # 0.22 of the training data is 0.2199999988 in the log; compared raw, values would change bins.
    as_model_sees = {name: "float32" for name in reference.numeric}
    data = assess(
        reference.frame.astype(as_model_sees),
        rows.astype(as_model_sees),
        numeric=reference.numeric,
        categorical=reference.categorical,
        settings=engine,
        time_column=time_column,
    )
    refused = rows["refused"].notna() if "refused" in rows else pd.Series(False, index=rows.index)
    answered = rows[~refused]
    if len(answered):
        served = np.asarray(answered["prediction"].tolist(), dtype=float)
        outputs = prediction_drift(np.asarray(reference_outputs, dtype=float), served, engine)
    else:
        why = f"the server refused all {len(rows)} rows of the window: no output to compare"
        outputs = {"drifted": False, "verdict": "no_outputs", "columns": {}, "drifted_columns": [], "why": why}
    worst_output = _worst_column(outputs)
    adversarial = data.get("adversarial") or {}
    labelled = answered[answered[reference.target].notna()] if reference.target in rows else rows.iloc[:0]
    signals: dict[str, dict[str, Any]] = {
        "data_drift": {
            "fired": "data_drift" in data["fired"],
            "score": data["weighted_drift"],
            "threshold": engine.min_weighted_drift,
            "why": "; ".join(f"{c}: {data['columns'][c]['why']}" for c in data["drifted_columns"])
            or "every column within what the reference's own windows show",
        },
        "adversarial": {
            "fired": "adversarial" in data["fired"],
            "score": adversarial.get("roc_auc"),
            "threshold": adversarial.get("threshold"),
            "why": str(adversarial.get("why", "")),
        },
        "prediction_drift": {
            "fired": bool(outputs["drifted"]),
            "score": worst_output.get("score"),
            "threshold": worst_output.get("threshold"),
            "why": str(outputs.get("why", "")),
        },
    }
    quality: dict[str, Any] = {"status": "no ground truth yet"}
    if len(labelled):
        floor = performance_floor(reference.test_metrics, settings.performance_floor, settings.max_worse_pct)
        y_true = labelled[reference.target].to_numpy(dtype=float)
        y_pred = np.asarray(labelled["prediction"].tolist(), dtype=float)
        quality = performance(y_true, y_pred, reference.task, reference.test_metrics, floor)
        # the metric drawn in the trend: always the task's first (RMSE, accuracy), so one line is one metric across
        # windows; the point is red when any metric breached its floor, and `why` names which
        shown = next(iter(quality["metrics"]))
        judged = len(labelled) >= settings.min_labelled_rows
        quality["judged"] = judged
        signals["performance"] = {
            "fired": bool(quality["degraded"]) and judged,
            "score": quality["metrics"][shown],
            "threshold": floor.get(shown),
            "metric": shown,
            "labelled_rows": len(labelled),
            "why": quality["why"]
            if judged
            else f"only {len(labelled)} labelled row(s), fewer than monitoring.min_labelled_rows "
            f"({settings.min_labelled_rows}): measured, not judged",
        }
    fired = [name for name, signal in signals.items() if signal["fired"]]
    report = f"{settings.reports}/windows/{window_stem(reference.model, reference.version, bounds['id'])}.html"
    return {
        "model": reference.model,
        "version": reference.version,
        "window": bounds,
        # the rows' own first and last time where they carry the problem's time column (what retraining may use)
        "data_window": data_window(rows[time_column]) if time_column else None,
        "window_rule": settings.rule.describe(),
        "rows": len(rows),
        "refused_rows": int(refused.sum()),
        "labelled_rows": len(labelled),
        "reference": {"rows": len(reference.frame), "found_at": reference.found_at},
        "signals": signals,
        "signals_fired": fired,
        "verdict": "drift" if fired else "no_drift",
        "data_drift": data,
        "prediction_drift": outputs,
        "performance": quality,
        "report": report,
    }


def windows_to_assess(
    windows: list[Window], history: pd.DataFrame, reference: Reference, target: str, everything: bool, min_rows: int
) -> list[Window]:
    """The windows with enough rows that are new, or whose rows or ground truth changed since they were assessed."""
    seen = assessed_sizes(history, reference.model, reference.version)
    chosen = []
    for window in windows:
        if len(window.rows) < min_rows:
            continue
        labelled = int(window.rows[target].notna().sum()) if target in window.rows else 0
        if everything or seen.get(window.id) != (len(window.rows), labelled):
            chosen.append(window)
    return chosen


def production_windows(
    reference: Reference, settings: MonitoringSettings, now: datetime | None = None, s3_client: Any = None
) -> list[Window]:
    """The complete windows of the production version's rows in the log, joined with the ground truth (local or
    S3: an S3 log beside an S3 store is read with the store's client, as the server writes it). For time windows the
    log's partitions after the last complete window are not read (none of their rows is in a complete window)."""
    until = last_window_end(settings.rule, now or datetime.now(UTC))
    logged = read_prediction_log(log_folder(settings.log_dir, s3_client), reference.model, until=until)
    logged = logged[logged["version"] == reference.version]
    truth = read_ground_truth(log_folder(settings.ground_truth_dir, s3_client), reference.target)
    return cut_windows(join_ground_truth(logged, truth, reference.target), settings.rule, now)  # a fresh index


def batch_window(path: Path, reference: Reference, store: Any) -> Window:
    """A file of new data (csv or parquet, with the model's input columns; the target when known) as one window
    whose predictions the production version makes now."""
    if not path.is_file():
        raise PipelineError(f"{path}: no such batch file")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in [*reference.numeric, *reference.categorical] if c not in frame.columns]
    if missing:
        raise PipelineError(f"{path}: the batch lacks the model's input column(s) {missing}")
    frame = frame.reset_index(drop=True)
    frame["prediction"] = as_prediction_column(model_outputs(store, reference.version, frame))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    time = reference.time_column
    own = data_window(frame[time]) if time and time in frame else None  # the batch's own times: data time
    start, end = (own["from"], own["to"]) if own else ("", "")
    return Window(f"batch-{path.stem}-{digest}", start, end, frame, DATA if own else NONE)


def monitor(
    params: Params,
    *,
    everything: bool = False,
    batch: Path | None = None,
    emit_event: bool = False,
    now: datetime | None = None,
    workspace: Path = Path(),
) -> list[dict[str, Any]]:
    """Assess the windows due, write their files and the trend page; the verdicts (each with `event_emitted`)."""
    settings = MonitoringSettings.from_params(params, workspace)
    location = params.get("deploy.store", str, "data/model_store")
    store = store_from_params(params, store=location if "://" in location else str(workspace / location))
    if checked_production(store) is None:
        log.warning("%s: no model in production, nothing to monitor", store.location)
        return []
    reference = production_reference(store, workspace)
    history = read_history(settings.out_dir)
    if batch is not None:
        due = [batch_window(batch, reference, store)]
    else:
        windows = production_windows(reference, settings, now, getattr(store, "client", None))
        due = windows_to_assess(windows, history, reference, reference.target, everything, settings.min_rows)
        log.info(
            "%s v%s: %d complete window(s) of %s in %s; %d to assess",
            reference.model,
            reference.version,
            len(windows),
            settings.rule.describe(),
            settings.log_dir,
            len(due),
        )
    if not due:
        write_monitoring_index(settings.out_dir, history)
        return []
    reference_outputs = model_outputs(store, reference.version, reference.frame)
    verdicts = []
    for window in due:
        verdict = assess_window(reference, reference_outputs, window.rows, window.bounds(), settings)
        if settings.evidently_rows:
            name = evidently_name(reference.model, reference.version, window.id)
            verdict["evidently_report"] = f"{settings.reports}/windows/{name}"
            write_evidently_page(
                settings.out_dir,
                reference.model,
                reference.version,
                window.id,
                reference.frame,
                reference_outputs,
                window.rows,
                reference.numeric,
                reference.categorical,
                settings.evidently_rows,
            )
        write_verdict(settings.out_dir, verdict)
        write_window_page(settings.out_dir, verdict)
        verdicts.append(verdict)
        log.info(
            "window %s (%d rows, %d labelled): %s%s",
            window.id,
            verdict["rows"],
            verdict["labelled_rows"],
            verdict["verdict"],
            f" ({', '.join(verdict['signals_fired'])})" if verdict["signals_fired"] else "",
        )
    write_monitoring_index(settings.out_dir, record_windows(settings.out_dir, verdicts))
    for verdict in verdicts:
        verdict["event_emitted"] = emit_event and emit_window_drift(verdict)
        verdict["notified"] = emit_event and notify(settings.notify_block, verdict)
    return verdicts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tasks.monitoring.window", description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="assess every complete window again")
    parser.add_argument("--batch", type=Path, help="a file of new data (csv/parquet) to assess as one window")
    parser.add_argument("--emit-event", action="store_true", help="emit trainline.drift.detected on drift")
    parser.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    params = select(args.params).params  # every key checked, naming the file and the key
    verdicts = monitor(params, everything=args.all, batch=args.batch, emit_event=args.emit_event)
    drifted = [v["window"]["id"] for v in verdicts if v["verdict"] == "drift"]
    print(f"{len(verdicts)} window(s) assessed; drift in {len(drifted)}: {drifted}")


if __name__ == "__main__":
    run_stage("monitoring", main)

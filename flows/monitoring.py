"""The monitoring flow: its own schedule (hourly, infra/prefect.yaml), never inside a training run.

Two checks, each emitting `trainline.drift.detected` (which starts the retraining deployment) when it finds drift:
1. production (tasks/monitoring/window.py): the windows of the prediction log the production version served,
   against that version's training data: data drift, prediction drift and, where ground truth arrived, performance.
   One event per drifted window (payload: model, version, window, signals fired, drifted columns, report).
2. new source data: the DVC `monitor` stage (the rows of the source after `collect.as_of` against the training
   split), run through DVC; an event only when the stage ran and found the dataset drifted.
Monitoring never retrains and never moves `collect.as_of`: the retraining flow does, on the event.

    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.monitoring
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from flows.artifacts import publish_report_links
from flows.drift_event import DRIFT_EVENT, MONITOR_STAGE, emit_drift
from flows.dvc_stages import stage_order
from flows.orchestration_settings import load_settings
from flows.training import REPO, flow_run_holder, run_stages
from flows.workspace_lock import workspace_lock


@task(name="production-monitoring")
def monitor_production(root: Path) -> list[dict[str, Any]]:
    """The prediction log's windows due (tasks/monitoring/window.py), the drift event emitted per drifted window."""
    from tasks.core.params import Params
    from tasks.monitoring.window import monitor

    return monitor(Params.load(root / "params.yaml"), emit_event=True, workspace=root)


def window_summary(verdict: dict[str, Any]) -> dict[str, Any]:
    return {
        "window": verdict["window"],
        "version": verdict["version"],
        "verdict": verdict["verdict"],
        "signals_fired": verdict["signals_fired"],
        "event_emitted": verdict.get("event_emitted", False),
        "report": verdict["report"],
    }


@flow(name="monitoring", log_prints=True)
def monitoring_pipeline(repo: str = str(REPO), production: bool = True) -> dict[str, Any]:
    """Monitor production's windows (when `production`), then run the monitor stage; return both results and
    whether drift events were emitted."""
    root = Path(repo)
    logger = get_run_logger()
    windows = [window_summary(v) for v in monitor_production(root)] if production else []
    for window in windows:
        if window["verdict"] == "drift":
            logger.warning(
                "production drift in %s (%s): emitted %s",
                window["window"]["id"],
                ", ".join(window["signals_fired"]),
                DRIFT_EVENT,
            )
    settings = load_settings(root, stage_order(root))
    with workspace_lock(root, flow_run_holder("monitoring"), wait_s=settings.lock_wait_s):
        runs = run_stages(root, [MONITOR_STAGE], settings, force=[])
        drift_file = root / "reports/monitoring/drift.json"
        drift = json.loads(drift_file.read_text()) if drift_file.exists() else {}
        publish_report_links(root, ["drift-report", "production-monitoring"])
    receipt_file = root / "data/deploy/receipt.json"
    model = json.loads(receipt_file.read_text()).get("model", "model") if receipt_file.exists() else "model"
    emitted = runs[MONITOR_STAGE] and emit_drift(model, drift)  # a new measurement only, never a repeat
    if emitted:
        logger.warning("drift detected (share %.2f): emitted %s", drift["drift_share"], DRIFT_EVENT)
    return {"ran": runs[MONITOR_STAGE], "drift": drift, "drift_event": emitted, "model": model, "production": windows}


if __name__ == "__main__":
    print(json.dumps(monitoring_pipeline(), indent=2, default=str))

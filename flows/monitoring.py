"""The monitoring flow: its own schedule (hourly, infra/prefect.yaml), never inside a training run.

It runs the `monitor` stage through DVC (the data after `collect.as_of` against the training data; the monitoring
issue deepens what it reads), links the drift report, and emits `trainline.drift.detected` when the dataset drifted,
which starts the retraining deployment.

    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.monitoring
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.artifacts import publish_report_links
from flows.drift_event import DRIFT_EVENT, MONITOR_STAGE, emit_drift
from flows.dvc_stages import stage_order
from flows.orchestration_settings import load_settings
from flows.training import REPO, flow_run_holder, run_stages
from flows.workspace_lock import workspace_lock


@flow(name="monitoring", log_prints=True)
def monitoring_pipeline(repo: str = str(REPO)) -> dict[str, Any]:
    """Run the monitor stage; return its drift summary and whether the drift event was emitted."""
    root = Path(repo)
    settings = load_settings(root, stage_order(root))
    with workspace_lock(root, flow_run_holder("monitoring"), wait_s=settings.lock_wait_s):
        runs = run_stages(root, [MONITOR_STAGE], settings, force=[])
        drift_file = root / "reports/monitoring/drift.json"
        drift = json.loads(drift_file.read_text()) if drift_file.exists() else {}
        publish_report_links(root, ["drift-report"])
    receipt_file = root / "data/deploy/receipt.json"
    model = json.loads(receipt_file.read_text()).get("model", "model") if receipt_file.exists() else "model"
    emitted = runs[MONITOR_STAGE] and emit_drift(model, drift)  # a new measurement only, never a repeat
    if emitted:
        get_run_logger().warning("drift detected (share %.2f): emitted %s", drift["drift_share"], DRIFT_EVENT)
    return {"ran": runs[MONITOR_STAGE], "drift": drift, "drift_event": emitted, "model": model}


if __name__ == "__main__":
    print(json.dumps(monitoring_pipeline(), indent=2, default=str))

"""The drift event: what monitoring emits and the retraining deployment's trigger listens for (infra/prefect.yaml)."""

from __future__ import annotations

from typing import Any

from tasks.monitoring.alert import DRIFT_EVENT, drift_resource

__all__ = ["DRIFT_EVENT", "MONITOR_STAGE", "drift_payload", "drift_resource", "emit_drift"]
MONITOR_STAGE = "monitor"  # the stage whose drift.json the event reports; emitted only when it ran


def drift_payload(drift: dict[str, Any]) -> dict[str, Any]:
    """What retraining needs from monitoring's drift.json: the window that drifted (the retraining window policy
    moves collect.as_of to its end, tasks/monitoring/retraining.py) and how much drifted."""
    return {
        "drift_share": drift.get("drift_share"),
        "drifted_columns": drift.get("drifted_columns", []),
        "window": drift.get("window"),
    }


def emit_drift(model: str, drift: dict[str, Any]) -> bool:
    """Emit the event when `drift` (monitoring's drift.json) says the dataset drifted; True if emitted."""
    if not drift or not drift.get("dataset_drift"):
        return False
    from prefect.events import emit_event

    emit_event(event=DRIFT_EVENT, resource={"prefect.resource.id": drift_resource(model)}, payload=drift_payload(drift))
    return True

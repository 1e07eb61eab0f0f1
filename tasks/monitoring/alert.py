"""The drift alert: the Prefect event that starts the retraining deployment (infra/prefect.yaml `on-drift`), and an
optional notification through a Prefect block the user names (`monitoring.notify_block`, e.g. a webhook).

The event is `trainline.drift.detected` on the resource `trainline.model.<model>`; its payload says which model and
version drifted, in which window, which signals fired, which columns drifted and where the report is.
"""

from __future__ import annotations

import logging
from typing import Any

from tasks.core.data_time import described, event_window

DRIFT_EVENT = "trainline.drift.detected"
log = logging.getLogger(__name__)


def drift_resource(model: str) -> str:
    return f"trainline.model.{model}"


def window_payload(verdict: dict[str, Any]) -> dict[str, Any]:
    """The event's payload from a window's verdict (tasks/monitoring/window.py): what retraining and a person need.

    `window` is data time (tasks/core/data_time.py `event_window`): `window.to` is where the retraining window policy
    (tasks/monitoring/retraining.py) moves collect.as_of, and it is None for a window of the prediction log whose rows
    carry no time of their own (their served time is under `window.served`), never the server's clock.
    """
    data = verdict.get("data_drift") or {}
    return {
        "model": verdict["model"],
        "version": verdict["version"],
        "window": event_window(verdict["window"], verdict.get("data_window")),
        "signals_fired": verdict["signals_fired"],
        "drifted_columns": data.get("drifted_columns", []),
        "drift_share": data.get("weighted_drift"),
        "report": verdict.get("report"),
    }


def emit_window_drift(verdict: dict[str, Any]) -> bool:
    """Emit the drift event for a window whose verdict is drift; True when emitted (needs PREFECT_API_URL or a
    flow run's client; Prefect's emitter drops the event with a warning when no server is reachable)."""
    if verdict.get("verdict") != "drift":
        return False
    from prefect.events import emit_event

    event = emit_event(
        event=DRIFT_EVENT,
        resource={"prefect.resource.id": drift_resource(verdict["model"])},
        payload=window_payload(verdict),
    )
    return event is not None


def notify(block_name: str | None, verdict: dict[str, Any]) -> bool:
    """Send one line about a drifted window through the Prefect notification block `block_name` (for example
    `slack-webhook/ml-alerts` or `custom-webhook/ops`); False when none is named or the verdict is not drift.
    A block that cannot be loaded or sent to is logged, never raised: monitoring's results are already written."""
    if not block_name or verdict.get("verdict") != "drift":
        return False
    from prefect.blocks.core import Block

    payload = window_payload(verdict)
    body = (
        f"{payload['model']} v{payload['version']}: drift in window {described(payload['window'])} "
        f"({', '.join(payload['signals_fired'])}); columns {payload['drifted_columns']}; "
        f"report {payload['report']}"
    )
    try:
        Block.load(block_name).notify(body=body, subject=f"trainline: drift on {payload['model']}")
    except Exception as err:  # the alert is best effort; the event and the report are the record
        log.warning("notification block %r: not sent (%s)", block_name, err)
        return False
    return True

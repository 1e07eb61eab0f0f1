"""The monitoring flow on a real Prefect server: production's windows judged, one drift event per drifted window
with the payload retraining needs, beside the monitor stage of the small DAG (workspace.py)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import yaml

from tests.monitoring.production import TinyProduction, build_tiny_production, deploy_tiny, serve_and_replay
from tests.orchestration.conftest import PrefectServer
from tests.orchestration.workspace import small_dag_workspace

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def tiny_production(tmp_path_factory: pytest.TempPathFactory) -> TinyProduction:
    return build_tiny_production(tmp_path_factory.mktemp("tiny-production"))


def drift_events(api_url: str, model: str, since: datetime, expected: int, timeout_s: float = 60) -> list[dict]:
    """The drift events the server recorded for `model` since `since` (other tests of this package emit theirs on
    the same server; events are stored a moment after they are emitted)."""
    names = {"name": ["trainline.drift.detected"]}
    resource = {"id": [f"trainline.model.{model}"]}
    body = {"filter": {"event": names, "any_resource": resource, "occurred": {"since": since.isoformat()}}}
    deadline = time.monotonic() + timeout_s
    while True:
        answer = httpx.post(f"{api_url}/events/filter", json={**body, "limit": 50}, timeout=30)
        answer.raise_for_status()
        events = answer.json()["events"]
        if len(events) >= expected or time.monotonic() > deadline:
            return events
        time.sleep(1)


def test_monitoring_flow_emits_one_drift_event_per_drifted_production_window(
    prefect_server: PrefectServer, tiny_production: TinyProduction, tmp_path: Path
) -> None:
    from flows.monitoring import monitoring_pipeline
    from flows.training import training_pipeline

    workspace = small_dag_workspace(tmp_path / "ws")
    training_pipeline(repo=str(workspace))  # the small DAG's outputs, which its monitor stage reads
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["monitoring"] = {"window": {"size": 300, "step": 300}, "min_rows": 100}
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    store = deploy_tiny(tiny_production, workspace / "data/model_store")
    calm = tiny_production.train.sample(300, random_state=1).sort_values("timestamp")
    july = tiny_production.later[tiny_production.later["timestamp"].dt.month == 7].iloc[:300]
    batches = {"calm": calm, "july": july}
    serve_and_replay(store, tmp_path, workspace / "data/prediction_log", batches, tiny_production.inputs)

    since = datetime.now(UTC)
    result = monitoring_pipeline(repo=str(workspace))

    windows = result["production"]
    assert [(w["verdict"], w["event_emitted"]) for w in windows] == [("no_drift", False), ("drift", True)], windows
    assert result["ran"] is False and result["drift_event"] is False  # the DAG's monitor stage: up to date, quiet
    (event,) = drift_events(prefect_server.api_url, "bike_demand", since, expected=1)
    payload = event["payload"]
    assert payload["model"] == "bike_demand" and payload["version"] == 1
    assert "data_drift" in payload["signals_fired"]
    # the logged rows carry no time of their own: the event says so, with the served time apart (never as data time)
    served = windows[1]["window"]
    assert served["time"] == "served" and payload["window"]["to"] is None
    assert payload["window"]["served"] == {"from": served["from"], "to": served["to"]}
    assert "temp" in payload["drifted_columns"]
    assert payload["report"] == "reports/monitoring/windows/bike_demand-v1-rows-000000300-000000600.html"
    assert (workspace / payload["report"]).is_file()


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_drift_verdict_is_sent_through_the_notification_block_the_user_names(prefect_server: PrefectServer) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from tasks.monitoring.alert import notify

    hook = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{hook.server_address[1]}/alerts"
        block = CustomWebhookNotificationBlock(name="ops", url=url, json_data={"text": "{{subject}}: {{body}}"})
        block.save("monitoring-test-ops", overwrite=True)
        verdict = {
            "verdict": "drift",
            "model": "bike_demand",
            "version": 3,
            "signals_fired": ["performance"],
            "window": {"id": "w", "from": "2026-11-01", "to": "2026-11-08"},
            "data_drift": {"drifted_columns": []},
            "report": "reports/monitoring/windows/bike_demand-v3-w.html",
        }
        assert notify("custom-webhook/monitoring-test-ops", verdict) is True
        assert notify("custom-webhook/monitoring-test-ops", {**verdict, "verdict": "no_drift"}) is False
        assert notify("custom-webhook/no-such-block", verdict) is False  # logged, never raised
    finally:
        hook.shutdown()
    (message,) = _Hook.received
    assert message["text"].startswith("trainline: drift on bike_demand: bike_demand v3: drift in window 2026-11-01")
    assert "bike_demand-v3-w.html" in message["text"]

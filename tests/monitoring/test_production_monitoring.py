"""Production monitoring end to end on loopback: the real server answers traffic and logs it, ground truth arrives,
and `tasks.monitoring.window` judges each window against the production version's training data.

Traffic: first rows cut from the version's own training data (the monitor must stay quiet), then July's rows (summer
weather, three times the riders: data drift and a performance drop)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tasks.core.params import Params
from tasks.monitoring.history import read_history
from tests.monitoring.production import (
    TinyProduction,
    build_tiny_production,
    deliver_ground_truth,
    deploy_tiny,
    serve_and_replay,
)
from tests.serving.conftest import S3Server, aws_env, bucket, s3_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(600)
WINDOW_ROWS = 300


@pytest.fixture(scope="module")
def tiny_production(tmp_path_factory: pytest.TempPathFactory) -> TinyProduction:
    return build_tiny_production(tmp_path_factory.mktemp("tiny-production"))


def monitoring_params(root: Path, evidently_rows: int = 0) -> Params:
    """Evidently's page per window only where a test looks at it (it costs about a second a window)."""
    return Params(
        {
            "problem": "bike_demand",
            "deploy": {"store": str(root / "store")},
            "serving": {"log": {"dir": str(root / "log")}},
            "monitoring": {
                "window": {"size": WINDOW_ROWS, "step": WINDOW_ROWS},
                "min_rows": 100,
                "reports": str(root / "reports"),
                "drift": {"expected_to_change": ["season"]},
                "evidently_rows": evidently_rows,
            },
        }
    )


def test_windows_of_production_traffic_are_judged_against_the_versions_training_data(
    tiny_production: TinyProduction, tmp_path: Path
) -> None:
    from tasks.monitoring.window import monitor

    store = deploy_tiny(tiny_production, tmp_path / "store")
    calm = tiny_production.train.sample(WINDOW_ROWS, random_state=0).sort_values("timestamp")
    july = tiny_production.later[tiny_production.later["timestamp"].dt.month == 7].iloc[:WINDOW_ROWS]
    sent = serve_and_replay(store, tmp_path, tmp_path / "log", {"calm": calm, "july": july}, tiny_production.inputs)
    calm_ids, july_ids = sent["calm"], sent["july"]
    params = monitoring_params(tmp_path)

    before_truth = monitor(params, workspace=tmp_path)
    deliver_ground_truth(tmp_path / "log/ground_truth", calm, calm_ids, "calm")
    deliver_ground_truth(tmp_path / "log/ground_truth", july, july_ids, "july")
    verdicts = monitor(params, workspace=tmp_path)  # the same windows again: their ground truth arrived

    assert [v["verdict"] for v in before_truth] == ["no_drift", "drift"]
    assert "performance" not in before_truth[1]["signals"]
    assert [v["window"]["id"] for v in verdicts] == ["rows-000000000-000000300", "rows-000000300-000000600"]
    quiet, drifted = verdicts
    assert quiet["verdict"] == "no_drift" and quiet["signals_fired"] == [], quiet["signals"]
    assert drifted["verdict"] == "drift"
    assert {"data_drift", "performance"} <= set(drifted["signals_fired"]), drifted["signals"]
    assert "temp" in drifted["data_drift"]["drifted_columns"]
    assert "season" not in drifted["data_drift"]["drifted_columns"]  # declared expected to change
    assert drifted["labelled_rows"] == WINDOW_ROWS and drifted["version"] == 1

    reports = tmp_path / "reports"
    written = json.loads((reports / "windows/bike_demand-v1-rows-000000300-000000600.json").read_text())
    assert written["verdict"] == "drift" and written["window"]["from"] <= written["window"]["to"]
    assert "temp" in (reports / "windows/bike_demand-v1-rows-000000300-000000600.html").read_text()
    history = read_history(reports)
    assert sorted(history["signal"].unique()) == ["adversarial", "data_drift", "performance", "prediction_drift"]
    assert len(history) == 2 * 4  # two windows x four signals: re-assessing replaced, never duplicated
    assert (reports / "index.html").read_text().count("<svg") == 4

    files = {p: p.read_bytes() for p in sorted((reports / "windows").glob("*.json"))}
    assert monitor(params, workspace=tmp_path) == []  # nothing new: no window is due
    again = monitor(params, everything=True, workspace=tmp_path)
    assert [v["verdict"] for v in again] == ["no_drift", "drift"]
    assert {p: p.read_bytes() for p in sorted((reports / "windows").glob("*.json"))} == files  # same bytes
    assert len(read_history(reports)) == 8


def test_a_batch_of_new_data_is_judged_as_one_window_with_the_models_predictions(
    tiny_production: TinyProduction, tmp_path: Path
) -> None:
    from tasks.monitoring.window import monitor

    deploy_tiny(tiny_production, tmp_path / "store")
    batch = tmp_path / "august.parquet"
    tiny_production.later[tiny_production.later["timestamp"].dt.month == 8].to_parquet(batch, index=False)

    (verdict,) = monitor(monitoring_params(tmp_path), batch=batch, workspace=tmp_path)

    assert verdict["verdict"] == "drift" and verdict["window"]["id"].startswith("batch-august-")
    assert verdict["window"]["from"].startswith("2011-08-01") and verdict["labelled_rows"] == verdict["rows"]
    assert "performance" in verdict["signals_fired"]


def test_labels_posted_later_to_the_server_give_each_window_its_performance(
    tiny_production: TinyProduction, tmp_path: Path
) -> None:
    from dataclasses import replace

    from tasks.monitoring.log_reader import read_prediction_log
    from tasks.monitoring.window import monitor
    from tasks.serving.request_checks import CheckPolicy
    from tests.monitoring.production import instances
    from tests.serving.conftest import fast_settings
    from tests.serving.live_server import live_server

    store = deploy_tiny(tiny_production, tmp_path / "store")
    calm = tiny_production.train.sample(WINDOW_ROWS, random_state=0).sort_values("timestamp")
    july = tiny_production.later[tiny_production.later["timestamp"].dt.month == 7].iloc[:WINDOW_ROWS]
    settings = fast_settings(tmp_path, log_dir=str(tmp_path / "log"))
    settings = replace(settings, options=replace(settings.options, policy=CheckPolicy(out_of_range="warn")))
    params = monitoring_params(tmp_path)
    with live_server(store, settings) as server:
        ids: dict[str, list[str]] = {}
        for name, rows in {"calm": calm, "july": july}.items():
            for first in range(0, len(rows), 50):  # the server picks the request id and answers with it
                answer = server.predict(
                    "bike_demand", {"instances": instances(rows.iloc[first : first + 50], [*tiny_production.inputs])}
                )
                assert answer.status == 200, answer.text
                ids.setdefault(name, []).append({k.lower(): v for k, v in answer.headers.items()}["x-request-id"])

        def labels(name: str, rows: object, first: int, last: int) -> list[dict[str, object]]:
            keyed = [(rid, i) for rid in ids[name] for i in range(50)]
            truth = rows["bikers"].tolist()  # type: ignore[index]
            return [{"request_id": r, "instance": i, "label": truth[k]} for k, (r, i) in enumerate(keyed)][first:last]

        bad = server.call("POST", "/v1/models/bike_demand/feedback", {"labels": [{"request_id": "x", "label": "7"}]})
        assert bad.status == 400 and "labels[0].label" in bad.body["error"]
        deadline = time.monotonic() + 30  # the log flushes every 0.2 s
        while len(read_prediction_log(tmp_path / "log")) < 2 * WINDOW_ROWS and time.monotonic() < deadline:
            time.sleep(0.1)
        unlabelled = monitor(params, workspace=tmp_path)
        few = server.call("POST", "/v1/models/bike_demand/feedback", {"labels": labels("july", july, 0, 20)})
        assert few.status == 200 and few.body == {"accepted": 20}
        with_few = monitor(params, workspace=tmp_path)  # July's window again: 20 labels arrived
        for name, rows in {"calm": calm, "july": july}.items():
            late = server.call("POST", "/v1/models/bike_demand/feedback", {"labels": labels(name, rows, 0, 300)})
            assert late.status == 200, late.text
    # both past windows again, fully labelled (and Evidently's page per window: about a second each)
    labelled = monitor(monitoring_params(tmp_path, evidently_rows=5000), workspace=tmp_path)

    assert [v["verdict"] for v in unlabelled] == ["no_drift", "drift"]
    assert all("performance" not in v["signals"] for v in unlabelled)
    (july_few,) = with_few
    assert july_few["labelled_rows"] == 20 and july_few["performance"]["judged"] is False
    assert july_few["signals"]["performance"]["fired"] is False and july_few["signals"]["performance"]["score"] > 0
    assert "min_labelled_rows" in july_few["signals"]["performance"]["why"]
    quiet, drifted = labelled
    assert quiet["labelled_rows"] == drifted["labelled_rows"] == WINDOW_ROWS
    assert quiet["signals"]["performance"]["fired"] is False
    assert drifted["signals"]["performance"]["fired"] is True and "performance" in drifted["signals_fired"]
    performance = read_history(tmp_path / "reports").query("signal == 'performance'")
    assert performance["labelled_rows"].tolist() == [WINDOW_ROWS, WINDOW_ROWS]  # the past windows updated, once each
    assert performance["fired"].tolist() == [False, True]

    # the pages a person opens: the index links each window's Evidently page; both work offline
    from tests.browser import external_loads, open_offline

    reports = tmp_path / "reports"
    evidently = reports / "windows/bike_demand-v1-rows-000000300-000000600-evidently.html"
    assert drifted["evidently_report"].endswith(evidently.name)
    index = (reports / "index.html").read_text()  # inline SVG, no script: read as written
    assert f'href="windows/{evidently.name}"' in index and external_loads(reports / "index.html") == []
    assert index.count('stroke-dasharray="5,4"') == 4  # every signal's trend draws its alarm threshold
    assert external_loads(evidently) == []
    page = open_offline(evidently, budget_ms=20_000)
    assert page.requests == [] and page.script_errors == [], page.console
    assert "temp" in page.dom and "prediction" in page.dom and "Drift" in page.dom


@pytest.mark.slow  # SeaweedFS, a server and two monitor runs; fast counterparts: tests/monitoring/test_log_on_s3.py
def test_the_production_path_on_s3_store_log_and_labels(
    tiny_production: TinyProduction,
    tmp_path: Path,
    aws_env: S3Server,  # noqa: F811
    bucket: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from tasks.monitoring.window import monitor
    from tasks.serving.request_checks import CheckPolicy
    from tasks.store.location import open_store
    from tests.monitoring.production import instances
    from tests.serving.conftest import fast_settings
    from tests.serving.live_server import live_server

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.endpoint_url)
    store = open_store(f"s3://{bucket}/models", "bike_demand")
    version, _ = store.add_version(
        tiny_production.export / "savedmodel",
        {
            "model_card.json": tiny_production.export / "model_card.json",
            "blessing.json": b'{"blessed": true}',
            "training_data.parquet": tiny_production.export / "training_data.parquet",
        },
    )
    store.promote(version, "first")
    calm = tiny_production.train.sample(WINDOW_ROWS, random_state=0).sort_values("timestamp")
    july = tiny_production.later[tiny_production.later["timestamp"].dt.month == 7].iloc[:WINDOW_ROWS]
    log = f"s3://{bucket}/log"
    settings = fast_settings(tmp_path, log_dir=log)
    settings = replace(settings, options=replace(settings.options, policy=CheckPolicy(out_of_range="warn")))
    with live_server(store, settings) as server:
        for rows in (calm, july):
            for first in range(0, len(rows), 50):
                part = rows.iloc[first : first + 50]
                answer = server.predict("bike_demand", {"instances": instances(part, [*tiny_production.inputs])})
                assert answer.status == 200, answer.text
                rid = {k.lower(): v for k, v in answer.headers.items()}["x-request-id"]
                labels = [{"request_id": rid, "instance": i, "label": y} for i, y in enumerate(part["bikers"])]
                assert server.call("POST", "/v1/models/bike_demand/feedback", {"labels": labels}).status == 200
    params = Params(
        {
            "problem": "bike_demand",
            "deploy": {"store": f"s3://{bucket}/models"},
            "serving": {"log": {"dir": log}},
            "monitoring": {
                "window": {"size": WINDOW_ROWS, "step": WINDOW_ROWS},
                "reports": str(tmp_path / "reports"),
                "drift": {"expected_to_change": ["season"]},
                "evidently_rows": 0,
            },
        }
    )

    quiet, drifted = monitor(params, workspace=tmp_path)

    assert quiet["labelled_rows"] == drifted["labelled_rows"] == WINDOW_ROWS
    assert quiet["verdict"] == "no_drift" and drifted["verdict"] == "drift"
    assert drifted["signals"]["performance"]["fired"] is True
    assert not (tmp_path / "log").exists() and not (tmp_path / "data").exists()  # nothing local but the reports

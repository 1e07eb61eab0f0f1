"""Production monitoring end to end on loopback: the real server answers traffic and logs it, ground truth arrives,
and `tasks.monitoring.window` judges each window against the production version's training data.

Traffic: first rows cut from the version's own training data (the monitor must stay quiet), then July's rows (summer
weather, three times the riders: data drift and a performance drop)."""

from __future__ import annotations

import json
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

pytestmark = pytest.mark.timeout(600)
WINDOW_ROWS = 300


@pytest.fixture(scope="module")
def tiny_production(tmp_path_factory: pytest.TempPathFactory) -> TinyProduction:
    return build_tiny_production(tmp_path_factory.mktemp("tiny-production"))


def monitoring_params(root: Path) -> Params:
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

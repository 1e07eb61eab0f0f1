"""An hourly series through the same DAG: `dvc exp run -S problem=weather_forecast` in a temporary copy of the
repository, on the first ten weeks of the bundled source and 2 epochs (CI-sized; the full run's figures are in the
issue note). The gate does not require beating the baselines on this sample; they are still scored."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, copy_repository, run

# slow (make test-all): a whole DAG of this kind; fast counterparts: tests/test_series_kind.py (gaps, windows, the
# fill fitted on training, the SavedModel serving a raw window as Keras predicts)
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workspace = copy_repository(tmp_path_factory.mktemp("weather_forecast"), {})
    source = pd.read_csv(REPO / "data/sources/nyc-weather-2013.csv.gz")
    source[source["month"] <= 2].to_csv(workspace / "data/sources/weather-sample.csv", index=False)
    own_path = workspace / "pipelines/weather_forecast/params.yaml"
    own = yaml.safe_load(own_path.read_text())
    own["collect"]["source"] = "data/sources/weather-sample.csv"
    own["train"] |= {"epochs": 2, "patience": 2, "recurrent_units": 4}
    own["evaluate"]["gate"]["require_beating_baselines"] = False
    own["evaluate"]["slices"] = [{"column": "hour", "name": "hour_of_day", "bins": [0, 12, 24]}]
    own_path.write_text(yaml.safe_dump(own, sort_keys=False))
    done = run(["dvc", "exp", "run", "-S", "problem=weather_forecast"], workspace)
    (workspace / "exp_run.log").write_text(done.stdout + done.stderr)
    yield workspace


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_every_stage_runs_and_the_forecaster_is_deployed_into_its_own_store_entry(workspace: Path) -> None:
    log = (workspace / "exp_run.log").read_text()
    assert re.findall(r"Running stage '(\w+)'", log) == [
        "collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy", "monitor", "report",
    ]  # fmt: skip
    metrics = read_json(workspace / "reports/evaluation/metrics.json")
    assert set(metrics) >= {"model", "common_sense", "mean", "linear"}  # persistence, training mean, ridge
    assert metrics["blessed"] and read_json(workspace / "data/deploy/receipt.json")["deployed"]
    assert (workspace / "data/model_store/weather_forecast/production.json").exists()


def test_the_gap_report_and_the_split_by_time(workspace: Path) -> None:
    summary = read_json(workspace / "reports/validation/summary.json")
    assert summary["success"] and set(summary["gaps"]["stations"]) == {"EWR", "JFK", "LGA"}
    splits = read_json(workspace / "data/features/spec.json")["splits"]
    assert splits["train"]["to"] == splits["val"]["from"] and splits["val"]["to"] == splits["test"]["from"]
    test = pd.read_parquet(workspace / "data/features/test.parquet")
    first_hours = pd.to_datetime(test["timestamp"]) - pd.Timedelta(hours=24 + 48 - 1)
    assert first_hours.min() >= pd.Timestamp(splits["test"]["from"])


def test_the_served_signature_takes_a_raw_window_and_matches_keras(workspace: Path) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    signature = read_json(workspace / "data/export/model_card.json")["signature"]
    assert signature["kind"] == "series" and signature["objective"] == "regression"
    assert signature["inputs"][0]["name"] == "window" and signature["inputs"][0]["shape"] == [48, 15]
    window = tf.constant(np.full((2, 48, 15), 50.0, dtype="float32"))
    served = tf.saved_model.load(str(workspace / "data/export/savedmodel")).signatures["serving_default"]
    keras_model = keras.models.load_model(workspace / "data/model/model.keras")
    np.testing.assert_allclose(
        served(window=window)["output_0"].numpy(), keras_model.predict(window, verbose=0), atol=1e-4
    )


def test_monitor_compares_the_hours_and_reports_the_persistence_error(workspace: Path) -> None:
    drift = read_json(workspace / "reports/monitoring/drift.json")
    assert drift["status"] == "measured" and drift["columns_checked"] == 15
    assert drift["persistence_error"]["current_mae"] > 0

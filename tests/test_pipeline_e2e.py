"""The whole default DAG as a fresh clone's `make run` leaves it (the session's `pipeline_workspace`), and
corrupted sources stopped in copies of it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run

pytestmark = pytest.mark.e2e

# Recorded from a fresh clone's `make run` (the committed params: up to 150 epochs, early stopping; the bundled data up
# to 2011-05-01), and the committed reports/evaluation/metrics.json. Training is seeded and TensorFlow's ops
# deterministic on CPU, so on one machine these come back bit for bit (test_newcomer.py checks dvc.lock byte for
# byte). The 1% tolerance leaves room for a CPU with other vector instructions (oneDNN then sums in another order);
# a real regression moves RMSE far more (one epoch: RMSE above 120; a lost feature or a leaky split: 5% and more).
# The baselines involve no training: pinned exactly (to metrics.json's 4 decimals).
PINNED_MODEL = {"rmse": 59.5837, "mae": 41.3175, "r2": 0.806}
MODEL_TOLERANCE = 0.01
PINNED_BASELINES_RMSE = {"common_sense": 122.61, "mean": 156.8827, "linear": 99.7633}  # metrics.json: 4 decimals


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_model_beats_the_common_sense_baseline_on_held_out_data(pipeline_workspace: Path) -> None:
    metrics = read_json(pipeline_workspace / "reports/evaluation/metrics.json")
    assert metrics["model"]["rmse"] < metrics["common_sense"]["rmse"]
    assert metrics["model"]["r2"] > metrics["common_sense"]["r2"]
    assert set(metrics) >= {"model", "common_sense", "linear", "beats_baselines"}


def test_metrics_are_the_recorded_ones(pipeline_workspace: Path) -> None:
    metrics = read_json(pipeline_workspace / "reports/evaluation/metrics.json")
    for name, value in PINNED_MODEL.items():
        assert metrics["model"][name] == pytest.approx(value, rel=MODEL_TOLERANCE), (name, metrics["model"])
    for baseline, rmse in PINNED_BASELINES_RMSE.items():
        assert metrics[baseline]["rmse"] == pytest.approx(rmse, abs=1e-9), baseline
    drift = read_json(pipeline_workspace / "reports/monitoring/drift.json")  # data only: exact
    assert (drift["columns_checked"], drift["verdict"]) == (11, "drift")  # the calibrated rule; tests/test_monitor.py
    assert drift["drifted_columns"] == ["temp", "atemp", "hum", "bikers", "season"]


def test_test_split_is_later_than_training_data(pipeline_workspace: Path) -> None:
    splits = {s: pd.read_parquet(pipeline_workspace / f"data/features/{s}.parquet") for s in ("train", "val", "test")}
    assert splits["train"].timestamp.max() < splits["val"].timestamp.min()
    assert splits["val"].timestamp.max() < splits["test"].timestamp.min()
    assert splits["test"].timestamp.max() < pd.Timestamp("2011-05-01")
    for frame in splits.values():
        assert not {"casual", "registered"} & set(frame.columns)


def test_savedmodel_reloads_with_the_keras_models_predictions(pipeline_workspace: Path) -> None:
    import keras
    import tensorflow as tf

    from tasks.training.fit import model_inputs

    spec = read_json(pipeline_workspace / "data/features/spec.json")
    test = pd.read_parquet(pipeline_workspace / "data/features/test.parquet")
    inputs = model_inputs(test, spec)
    expected = keras.models.load_model(pipeline_workspace / "data/model/model.keras").predict(inputs, verbose=0)
    served = tf.saved_model.load(str(pipeline_workspace / "data/export/savedmodel"))
    got = served.signatures["serving_default"](**inputs)["output_0"].numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    card = read_json(pipeline_workspace / "data/export/model_card.json")
    assert "git" not in card["lineage"] and "created_at" not in card  # byte-reproducible: no commit, no time
    splits = {"train.parquet", "val.parquet", "test.parquet", "holdout.parquet"}  # holdout: featurize.holdout
    assert set(card["lineage"]["data"]) == splits | {"spec.json"}
    assert card["holdout"]["sha256"] == card["lineage"]["data"]["holdout.parquet"]  # the fixed one is stored


def test_reports_land_under_reports(pipeline_workspace: Path) -> None:
    reports = pipeline_workspace / "reports"
    summary = read_json(reports / "validation/summary.json")
    assert summary["success"] and summary["failed"] == 0 and summary["evaluated"] > 40
    assert "bike_demand.raw" in (reports / "validation/index.html").read_text()
    evaluation = (reports / "evaluation/index.html").read_text()
    rmse = read_json(reports / "evaluation/metrics.json")["model"]["rmse"]
    assert f"{rmse:,.3f}" in evaluation
    assert evaluation.count("data:image/png;base64,") >= 2
    drift = read_json(reports / "monitoring/drift.json")
    assert drift["status"] == "measured" and drift["current_rows"] > 0
    assert 0.0 <= drift["drift_share"] <= 1.0
    assert (reports / "monitoring/drift.html").stat().st_size > 10_000


def test_blessed_model_is_version_one_in_production(pipeline_workspace: Path) -> None:
    store = pipeline_workspace / "data/model_store/bike_demand"
    pointer = read_json(store / "production.json")
    assert pointer["version"] == 1
    assert (store / "1/saved_model.pb").is_file()
    assert (store / "1/assets.extra/model_card.json").is_file()
    assert read_json(pipeline_workspace / "data/deploy/receipt.json")["deployed"] is True


@pytest.fixture
def corrupt_source(pipeline_copy: Path) -> Path:
    """The source file of this test's own copy of the workspace, for the test to overwrite."""
    return pipeline_copy / "data/sources/bikeshare-2011.csv.gz"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("damage", "stage", "phrase", "bad_value"),
    [
        # a header that is not the problem's declared columns is refused at collect, naming the difference
        (lambda f: f.drop(columns=["windspeed"]), "collect", "missing column(s) ['windspeed']", None),
        (
            lambda f: f.assign(temp=f.temp.astype(object).where(f.index != 7, "warm")),
            "validate",
            "column 'temp'",
            "'warm'",
        ),
    ],
    ids=["dropped-column", "string-in-numeric-column"],
)
def test_corrupted_source_is_stopped_before_featurize_naming_the_column(
    pipeline_copy: Path,
    corrupt_source: Path,
    bike_source: pd.DataFrame,
    damage,
    stage: str,
    phrase: str,
    bad_value,
) -> None:
    validated = pipeline_copy / "data/validated/data.parquet"
    before = digest(validated)
    damage(bike_source).to_csv(corrupt_source, index=False, compression="gzip")

    done = run(["dvc", "repro"], pipeline_copy, check=False)

    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"[{stage}] FAILED" in output
    assert phrase in output
    if bad_value:
        assert bad_value in output
    assert "Running stage 'featurize'" not in output
    assert "Traceback" not in output
    assert digest(validated) == before

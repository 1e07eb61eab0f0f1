"""The image problem through the same DAG, switched by ONE parameter: `dvc exp run -S problem=fashion_mnist` in a
temporary copy of the repository, from the bundled sample, with a small CNN and few epochs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import copy_repository, run

pytestmark = pytest.mark.e2e

FAST_CNN = {"epochs": 6, "patience": 3, "filters": [16, 32], "dense_units": 64, "batch_size": 64}


@pytest.fixture(scope="module")
def image_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workspace = copy_repository(tmp_path_factory.mktemp("images"), {})
    problem_file = workspace / "pipelines/fashion_mnist/params.yaml"
    overrides = yaml.safe_load(problem_file.read_text())
    overrides["train"].update(FAST_CNN)
    # A six-epoch model on 1,440 images need not beat the pixel logistic regression yet (the default 30 epochs do);
    # the gate's decisions are tested in test_image_gate.py, here the blessed path runs to deployment.
    overrides["evaluate"]["gate"].update(floors={"accuracy": {"min": 0.5}}, require_beating_baselines=False)
    problem_file.write_text(yaml.safe_dump(overrides, sort_keys=False))
    git = ["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost"]
    run([*git, "commit", "-qam", "fast CNN"], workspace)
    done = run(["dvc", "exp", "run", "-S", "problem=fashion_mnist"], workspace)
    (workspace / "exp_run.log").write_text(done.stdout + done.stderr)
    yield workspace


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_one_parameter_runs_every_stage_on_images(image_workspace: Path) -> None:
    log = (image_workspace / "exp_run.log").read_text()
    assert re.findall(r"Running stage '(\w+)'", log) == [
        "collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy", "monitor", "report",
    ]  # fmt: skip
    assert yaml.safe_load((image_workspace / "params.yaml").read_text())["problem"] == "fashion_mnist"
    manifest = read_json(image_workspace / "data/raw/manifest.json")
    assert manifest["images"] == {"train": 1600, "test": 400}


def test_validation_report_lists_the_image_checks(image_workspace: Path) -> None:
    summary = read_json(image_workspace / "reports/validation/summary.json")
    assert summary["success"] and summary["failed"] == 0
    names = {c["name"] for c in summary["checks"]}
    assert {"train: image shape", "train: images dtype", "test: label set", "train: class balance"} <= names
    assert "train: class balance" in (image_workspace / "reports/validation/index.html").read_text()


def test_evaluation_has_accuracy_per_class_scores_and_confusion_matrix(image_workspace: Path) -> None:
    metrics = read_json(image_workspace / "reports/evaluation/metrics.json")
    record = read_json(image_workspace / "reports/evaluation/evaluation.json")
    assert metrics["model"]["accuracy"] > metrics["majority_class"]["accuracy"]
    assert metrics["model"]["accuracy"] > 0.5 and metrics["blessed"]
    assert set(record["classification"]["per_class"]) >= {"T-shirt/top", "Ankle boot"}
    matrix = np.asarray(record["classification"]["confusion_matrix"]["counts"])
    assert matrix.shape == (10, 10) and matrix.sum() == 400 and (matrix.sum(axis=1) == 40).all()
    assert np.trace(matrix) / 400 == pytest.approx(metrics["model"]["accuracy"])
    predictions = pd.read_csv(image_workspace / "reports/evaluation/predictions.csv")
    assert (predictions["actual"] == predictions["predicted"]).mean() == pytest.approx(metrics["model"]["accuracy"])
    report = (image_workspace / "reports/evaluation/index.html").read_text()
    assert "Confusion matrix" in report and report.count("data:image/png;base64,") >= 2
    assert record["primary_metric"] == "accuracy"
    # metrics.json holds the same scores rounded to 4 decimals (readable `dvc metrics diff`)
    assert record["scores"]["model"] == pytest.approx(metrics["model"], abs=1e-4)
    assert record["kind"] == "image" and record["objective"] == "multiclass"
    assert {c["check"] for c in record["blessing"]["checks"]} == {"floor", "baseline", "champion"}
    importance = pd.read_csv(image_workspace / "reports/evaluation/importance.csv")
    assert len(importance) == 16 and importance["score_loss_mean"].iloc[0] > 0  # some region matters
    index = (image_workspace / "reports/index.html").read_text()
    assert "Model evaluation: fashion_mnist" in index


def test_training_artefacts_and_history(image_workspace: Path) -> None:
    model_dir = image_workspace / "data/model"
    summary = read_json(model_dir / "train.json")
    history = pd.read_csv(model_dir / "history.csv")
    assert len(history) == summary["epochs_run"] <= FAST_CNN["epochs"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.columns)
    assert (model_dir / "history.png").stat().st_size > 1000
    report = image_workspace / "reports/training"
    assert pd.read_csv(report / "history.csv").equals(history)
    assert read_json(report / "train.json") == summary and (report / "history.png").is_file()
    assert any((image_workspace / "data/tensorboard").rglob("events.out.tfevents.*"))  # outside DVC outs
    assert summary["hardware"]["strategy"] == "default" and summary["hardware"]["policy"] == "float32"
    assert not any((image_workspace / "data/train_state").glob("*/state.json"))


def test_savedmodel_serves_raw_uint8_images_and_is_deployed(image_workspace: Path) -> None:
    import tensorflow as tf

    from tasks.idx import read_idx

    sample = image_workspace / "data/sources/fashion-mnist-sample"
    images = read_idx((sample / "t10k-images-idx3-ubyte.gz").read_bytes())[:50]
    labels = read_idx((sample / "t10k-labels-idx1-ubyte.gz").read_bytes())[:50]
    served = tf.saved_model.load(str(image_workspace / "data/export/savedmodel")).signatures["serving_default"]
    probabilities = served(image=tf.constant(images))["output_0"].numpy()
    assert probabilities.shape == (50, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities.argmax(axis=1) == labels).mean() > 0.4
    store = image_workspace / "data/model_store/fashion_mnist"
    assert read_json(store / "production.json")["version"] == 1
    card = read_json(store / "1/assets.extra/model_card.json")
    assert card["inputs"]["image"]["dtype"] == "uint8" and card["output"]["classes"][0] == "T-shirt/top"
    assert card["signature"]["inputs"][0] == {
        "name": "image",
        "dtype": "uint8",
        "shape": [28, 28],
        "range": {"min": 0, "max": 255},
    }


def test_drift_report_on_image_statistics(image_workspace: Path) -> None:
    drift = read_json(image_workspace / "reports/monitoring/drift.json")
    assert drift["status"] == "measured" and drift["columns_checked"] == 5
    assert drift["dataset_drift"] is False  # the test split comes from the same distribution as training
    assert (image_workspace / "reports/monitoring/drift.html").stat().st_size > 10_000

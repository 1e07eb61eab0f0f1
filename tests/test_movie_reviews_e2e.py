"""Text through the same DAG: `dvc exp run -S problem=movie_reviews` in a temporary copy of the repository, on a
2,000-review sample of the bundled source and at most 10 epochs (CI-sized; the full run's figures are in the issue
note). The gate's floor is relaxed for the sample (see `workspace`), the baselines are still scored and reported.
The run is seeded and deterministic: its metrics are pinned, so a change that makes the model (or a baseline) worse
fails here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, copy_repository, run

# slow (make test-all): a whole DAG of this kind; fast counterparts: tests/test_text_kind.py (collect, checks, split,
# vocabulary, the SavedModel serving raw strings as Keras predicts)
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workspace = copy_repository(tmp_path_factory.mktemp("movie_reviews"), {})
    sample = pd.read_csv(REPO / "data/sources/rotten-tomatoes-reviews.csv.bz2").sample(2000, random_state=0)
    sample.to_csv(workspace / "data/sources/reviews-sample.csv", index=False)
    own_path = workspace / "pipelines/movie_reviews/params.yaml"
    own = yaml.safe_load(own_path.read_text())
    own["collect"]["source"] = "data/sources/reviews-sample.csv"
    own["featurize"]["max_tokens"] = 5000
    # 1,600 training texts of unit-length TF-IDF: a higher learning rate than the full run's, or 10 epochs underfit
    own["train"] |= {"epochs": 10, "patience": 3, "dense_units": 16, "batch_size": 32, "learning_rate": 0.01}
    # The real gate (accuracy >= 0.75 and beating TF-IDF + logistic regression) cannot be met by a 2,000-review
    # sample: with 1,600 training texts the baseline itself reaches only 0.719 on its 199 test reviews. The floor is
    # relaxed so that export, deploy and monitor run; the figures are pinned below instead.
    own["evaluate"]["gate"] |= {"floors": {"accuracy": {"min": 0.6}}, "require_beating_baselines": False}
    own_path.write_text(yaml.safe_dump(own, sort_keys=False))
    done = run(["dvc", "exp", "run", "-S", "problem=movie_reviews"], workspace)
    (workspace / "exp_run.log").write_text(done.stdout + done.stderr)
    yield workspace


# the sample run's test figures (199 reviews; measured with this file's overrides, train.seed 42)
MODEL_ACCURACY = 0.6734
MODEL_ROC_AUC = 0.7268


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_every_stage_runs_and_the_model_is_deployed_into_its_own_store_entry(workspace: Path) -> None:
    log = (workspace / "exp_run.log").read_text()
    assert re.findall(r"Running stage '(\w+)'", log) == [
        "collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy", "monitor", "report",
    ]  # fmt: skip
    metrics = read_json(workspace / "reports/evaluation/metrics.json")
    assert set(metrics) >= {"model", "majority_class", "tfidf_logistic"}
    # seeded and deterministic on one machine; the tolerance covers float differences between CPUs/thread counts
    # that may flip a review or two near p = 0.5 (one test review of 199 is 0.005 of accuracy)
    assert metrics["model"]["accuracy"] == pytest.approx(MODEL_ACCURACY, abs=0.011)
    assert metrics["model"]["roc_auc"] == pytest.approx(MODEL_ROC_AUC, abs=0.005)
    # the baselines do not depend on the model: scikit-learn's lbfgs on the same seeded split, exact
    assert metrics["majority_class"]["accuracy"] == 0.5578
    assert metrics["tfidf_logistic"]["accuracy"] == 0.7186 and metrics["tfidf_logistic"]["roc_auc"] == 0.7845
    assert metrics["model"]["accuracy"] > metrics["majority_class"]["accuracy"]
    assert metrics["blessed"] and read_json(workspace / "data/deploy/receipt.json")["deployed"]
    assert (workspace / "data/model_store/movie_reviews/production.json").exists()
    assert not (workspace / "data/model_store/bike_demand").exists()


def test_the_served_signature_takes_raw_strings_and_matches_keras(workspace: Path) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    card = read_json(workspace / "data/export/model_card.json")
    signature = card["signature"]
    assert signature["kind"] == "text" and signature["objective"] == "binary"
    assert signature["inputs"] == [
        {"name": "text", "dtype": "string", "shape": [], "range": signature["inputs"][0]["range"], "range_of": "length"}
    ]
    assert signature["output"]["classes"] == ["rotten", "fresh"]
    texts = tf.constant(["A wonderful, touching film.", "Dull, badly acted and far too long.", ""])
    served = tf.saved_model.load(str(workspace / "data/export/savedmodel")).signatures["serving_default"]
    keras_model = keras.models.load_model(workspace / "data/model/model.keras")
    np.testing.assert_allclose(served(text=texts)["output_0"].numpy(), keras_model.predict(texts, verbose=0), atol=1e-5)


def test_the_report_shows_the_worst_errors_with_their_texts_and_slices_by_length(workspace: Path) -> None:
    record = read_json(workspace / "reports/evaluation/evaluation.json")
    worst = record["worst_errors"]
    assert worst and all(row["actual"] != row["predicted"] and row["text"] for row in worst)
    assert [row["confidence"] for row in worst] == sorted((row["confidence"] for row in worst), reverse=True)
    page = (workspace / "reports/evaluation/index.html").read_text()
    assert "Worst errors" in page and worst[0]["text"][:30] in page.replace("&#x27;", "'").replace("&quot;", '"')
    assert {row["slice"] for row in record["slices"]} == {"review_length"}
    assert record["classification"]["confusion_matrix"]
    predictions = pd.read_csv(workspace / "reports/evaluation/predictions.csv")
    assert {"text", "actual", "predicted", "confidence"} <= set(predictions.columns)


def test_monitor_profiles_text_length_oov_rate_top_tokens_and_labels(workspace: Path) -> None:
    drift = read_json(workspace / "reports/monitoring/drift.json")
    assert drift["status"] == "measured" and drift["reference"] == "validation split"
    assert set(drift["profile"]) == {"chars", "words", "oov_rate", "top_token_share", "label_share"}
    assert 0.0 < drift["profile"]["oov_rate"]["reference_mean"] < 0.5
    assert (workspace / "reports/monitoring/drift.html").stat().st_size > 0

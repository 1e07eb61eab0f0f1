"""tasks.evaluation.evaluate.evaluate varies by objective: a binary classification problem gets classification scores,
baselines, threshold counts and report sections; no TensorFlow involved. Targets are class indices, as featurize
writes them; the spec names the classes."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.params import Params
from tasks.evaluation.evaluate import evaluate, json_safe, metrics_file, render_figures
from tasks.evaluation.page import numbers_by_key, render_report

CLASSES = ["no", "yes"]


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    noisy = x + rng.normal(scale=0.7, size=n)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h"),
            "x": x,
            "c": rng.choice(["a", "b"], size=n),
            "label": np.where(noisy > 0.3, 1, 0),  # class indices: 0 = "no", 1 = "yes"
        }
    )


def prior_baseline(train: pd.DataFrame) -> Any:
    share = float((train["label"] == 1).mean())
    return lambda f: np.column_stack([np.full(len(f), 1 - share), np.full(len(f), share)])


PROBLEM_CLS = dataclasses.replace(
    PROBLEM,
    name="toy_alarm",
    task="classification",
    target="label",
    numeric_features=("x",),
    categorical_features=("c",),
    leakage_columns=(),
    common_sense_baseline=prior_baseline,
    extra={},
)
SPEC = {
    "kind": "table",
    "problem": "toy_alarm",
    "task": "classification",
    "target": "label",
    "timestamp": "timestamp",
    "classes": CLASSES,
    "numeric": {"x": {"mean": 0.0, "variance": 1.0}},
    "categorical": {"c": {"dtype": "string", "vocabulary": ["a", "b"]}},
}
PARAMS = Params(
    {
        "evaluate": {
            "gate": {"primary_metric": "roc_auc", "floors": {"accuracy": {"min": 0.6}}},
            "slices": ["c"],
            "permutation_repeats": 2,
            "decision_threshold": 0.4,
        }
    }
)


def predict(f: pd.DataFrame) -> np.ndarray:
    p_yes = 1 / (1 + np.exp(-3 * (f["x"].to_numpy() - 0.3)))
    return np.column_stack([1 - p_yes, p_yes])


def test_binary_classification_is_scored_gated_and_reported() -> None:
    record, predictions = evaluate(PROBLEM_CLS, PARAMS, SPEC, frame(400, 0), frame(200, 1), predict, None)

    model = record["scores"]["model"]
    assert set(record["scores"]) == {"model", "common_sense", "majority_class", "logistic"}
    assert model["accuracy"] > 0.7 and model["roc_auc"] > 0.8
    assert record["scores"]["majority_class"]["roc_auc"] == pytest.approx(0.5)
    assert {"false_positive_rate", "false_negative_rate"} <= set(model)
    assert record["classification"]["threshold"]["threshold"] == 0.4
    assert record["blessing"]["primary_metric"] == "roc_auc"
    assert any("majority_class baseline: ROC AUC" in r for r in record["blessing"]["reasons"])
    assert [r["value"] for r in record["slices"]] == ["a", "b"]
    assert record["importance"][0]["feature"] == "x"
    assert set(predictions.columns) == {"timestamp", "actual", "predicted", "confidence"}

    page = render_report(record, render_figures(record, predictions, None))
    assert "Decision threshold" in page and "false positives" in page
    assert '<img alt="confusion matrix" src="data:image/png;base64,' in page
    assert '<img alt="calibration" src="data:image/png;base64,' in page
    assert '<img alt="ROC and PR curves" src="data:image/png;base64,' in page
    shown = numbers_by_key(page)
    for name, scores in metrics_file(record).items():
        if isinstance(scores, dict):
            for metric in ("accuracy", "macro_f1", "log_loss", "roc_auc"):
                assert float(shown[f"{name}.{metric}"]) == pytest.approx(scores[metric], abs=5e-4)
    assert not re.search(r"""src\s*=\s*["']https?:""", page)


def test_undefined_scores_are_written_as_null_not_nan() -> None:
    record = {"slices": [{"roc_auc": float("nan"), "rows": 3}], "scores": {"model": {"r2": float("inf")}}}
    assert json_safe(record) == {"slices": [{"roc_auc": None, "rows": 3}], "scores": {"model": {"r2": None}}}

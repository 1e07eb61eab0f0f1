"""Images are scored by the classification objective and gated by the one gate, as pure functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.evaluation.gate import GatePolicy, decide_blessing
from tasks.kinds.image import occlusion_importance
from tasks.kinds.image_table import to_table
from tasks.objectives.metrics import classification_metrics

CLASSES = ["a", "b", "c"]


def one_hot(indices: list[int], n: int = 3) -> np.ndarray:
    return np.eye(n)[indices]


def test_scores_match_a_hand_counted_example() -> None:
    actual = np.array(["a", "a", "a", "b", "b", "c"], dtype=object)
    scores = classification_metrics(actual, one_hot([0, 0, 1, 1, 2, 2]), CLASSES)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["confusion_matrix"]["counts"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert scores["per_class"]["a"]["precision"] == 1.0 and scores["per_class"]["a"]["recall"] == pytest.approx(2 / 3)
    assert scores["per_class"]["b"]["precision"] == 0.5 and scores["per_class"]["c"]["recall"] == 1.0


def test_a_class_never_predicted_scores_zero_not_nan() -> None:
    scores = classification_metrics(np.array(["a", "b", "c"], dtype=object), one_hot([0, 0, 0]), CLASSES)
    assert scores["per_class"]["b"]["precision"] == 0.0 and scores["per_class"]["b"]["recall"] == 0.0


def test_image_blessing_needs_the_floor_every_baseline_and_the_champion() -> None:
    policy = GatePolicy(
        primary_metric="accuracy", floors={"accuracy": {"min": 0.91}}, max_worse_than_champion_pct={"accuracy": 1.0}
    )
    baselines = {"majority_class": {"accuracy": 0.1}, "logistic": {"accuracy": 0.84}}
    champion = {"version": 3, "fingerprint": "f", "path": "p", "metrics": {"accuracy": 0.95}}
    assert decide_blessing({"accuracy": 0.95}, baselines, champion, policy)["blessed"]
    below = decide_blessing({"accuracy": 0.90}, baselines, None, policy)
    assert not below["blessed"] and "below the min 0.91" in below["failed"][0]
    worse = decide_blessing({"accuracy": 0.92}, baselines, champion, policy)
    assert not worse["blessed"] and any("vs production version 3: accuracy" in r for r in worse["failed"])
    loses = decide_blessing({"accuracy": 0.92}, {"logistic": {"accuracy": 0.93}}, None, policy)
    assert not loses["blessed"] and "logistic baseline" in loses["failed"][0]


def test_occlusion_importance_finds_the_region_a_model_looks_at() -> None:
    images = np.zeros((20, 8, 8), dtype=np.uint8)
    labels = np.arange(20) % 2
    images[labels == 1, 0:2, 6:8] = 255  # class 1 is marked in the top-right corner
    frame = to_table(images, labels, "test")

    def predict(batch: pd.DataFrame) -> np.ndarray:  # a "model" that looks only at that corner
        pixels = np.frombuffer(b"".join(batch["image"]), dtype=np.uint8).reshape(len(batch), 8, 8)
        marked = pixels[:, 0:2, 6:8].max(axis=(1, 2)) > 0
        return np.stack([~marked, marked], axis=1).astype(float)

    def accuracy(actual: np.ndarray, proba: np.ndarray) -> float:
        return float(np.mean(proba.argmax(axis=1) == actual))

    rows = occlusion_importance(predict, frame, labels, accuracy, False, (8, 8), grid=4)
    assert len(rows) == 16
    assert rows[0]["feature"] == "rows 0-1, cols 6-7" and rows[0]["score_loss_mean"] == 0.5
    assert all(row["score_loss_mean"] == 0 for row in rows[1:])

"""Classification scores and the image gate, as pure functions."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.image_evaluate import classification_scores, decide_blessing


def test_scores_match_a_hand_counted_example() -> None:
    actual = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 2, 2])
    scores = classification_scores(actual, predicted, ["a", "b", "c"])
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert scores["per_class"]["a"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": 0.8, "support": 3}
    assert scores["per_class"]["b"]["precision"] == 0.5 and scores["per_class"]["c"]["recall"] == 1.0


def test_a_class_never_predicted_scores_zero_not_nan() -> None:
    scores = classification_scores(np.array([0, 1, 2]), np.array([0, 0, 0]), ["a", "b", "c"])
    assert scores["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_blessing_needs_the_floor_and_every_baseline() -> None:
    blessed = decide_blessing({"model": 0.92, "common_sense": 0.1, "linear": 0.84}, 0.91, True)
    assert blessed["blessed"] and blessed["beats_baselines"]
    below_floor = decide_blessing({"model": 0.90, "common_sense": 0.1, "linear": 0.84}, 0.91, True)
    assert not below_floor["blessed"] and "is below evaluate.min_accuracy 0.9100" in below_floor["reasons"][0]
    loses = decide_blessing({"model": 0.80, "common_sense": 0.1, "linear": 0.84}, 0.5, True)
    assert not loses["blessed"] and "does not beat linear 0.8400" in loses["reasons"][-1]
    assert decide_blessing({"model": 0.80, "common_sense": 0.1, "linear": 0.84}, 0.5, False)["blessed"]


def test_occlusion_importance_finds_the_region_a_model_looks_at() -> None:
    from tasks.image_evaluate import occlusion_importance

    images = np.zeros((20, 8, 8), dtype=np.uint8)
    actual = np.arange(20) % 2
    images[actual == 1, 0:2, 6:8] = 255  # class 1 is marked in the top-right corner

    def predict(batch: np.ndarray) -> np.ndarray:  # a "model" that looks only at that corner
        marked = batch[:, 0:2, 6:8].max(axis=(1, 2)) > 0
        return np.stack([~marked, marked], axis=1).astype(float)

    table = occlusion_importance(predict, images, actual, grid=4)
    assert len(table) == 16
    assert table.iloc[0]["feature"] == "rows 0-1, cols 6-7" and table.iloc[0]["score_loss_mean"] == 0.5
    assert (table.iloc[1:]["score_loss_mean"] == 0).all()


def test_class_slices_are_per_class_recall() -> None:
    from tasks.image_evaluate import class_slices

    frame = class_slices(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["a", "b", "c"])
    assert frame["accuracy"].tolist()[:2] == [0.5, 1.0] and np.isnan(frame["accuracy"].iloc[2])
    assert frame["rows"].tolist() == [2, 2, 0]

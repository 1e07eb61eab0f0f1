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

"""Permutation importance: how much worse a model scores when one input feature's values are shuffled.

The books' perturbation ranking: shuffling breaks the link between a feature and the target while keeping the
feature's distribution, so the loss of score is what the model owes to that feature (on this data, with the
other features as they are; correlated features share credit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd


def permutation_importance(
    predict: Callable[[pd.DataFrame], np.ndarray],
    frame: pd.DataFrame,
    actual: np.ndarray,
    features: Sequence[str],
    score: Callable[[np.ndarray, np.ndarray], float],
    lower_is_better: bool,
    repeats: int = 5,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Mean and standard deviation, over `repeats` seeded shuffles, of the score lost by shuffling each feature.

    `predict` maps a frame to predictions aligned with its rows; it is called twice, once on `frame` and once on
    every shuffled copy stacked together (one batch is much faster than one call per shuffle). Loss is positive
    when shuffling hurts. Rows come sorted by mean loss, most important first.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rng = np.random.default_rng(seed)
    reference = score(actual, predict(frame))
    copies = []
    for feature in features:
        for _ in range(repeats):
            shuffled = frame.copy()
            shuffled[feature] = rng.permutation(frame[feature].to_numpy())
            copies.append(shuffled)
    predictions = np.asarray(predict(pd.concat(copies, ignore_index=True)))
    chunks = np.split(predictions, len(copies))
    rows = []
    for f, feature in enumerate(features):
        scores = np.array([score(actual, chunks[f * repeats + r]) for r in range(repeats)])
        loss = scores - reference if lower_is_better else reference - scores
        rows.append(
            {
                "feature": feature,
                "score_loss_mean": float(loss.mean()),
                "score_loss_std": float(loss.std(ddof=1)) if repeats > 1 else 0.0,
                "reference_score": float(reference),
            }
        )
    return sorted(rows, key=lambda row: row["score_loss_mean"], reverse=True)

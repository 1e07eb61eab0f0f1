"""Scores, as pure functions of arrays."""

from __future__ import annotations

import numpy as np


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of `predicted` against `actual` (1-D, same length)."""
    actual = np.asarray(actual, dtype="float64").ravel()
    predicted = np.asarray(predicted, dtype="float64").ravel()
    if actual.shape != predicted.shape or actual.size == 0:
        raise ValueError(f"need two equal, non-empty arrays, got {actual.shape} and {predicted.shape}")
    error = predicted - actual
    total = float(np.sum((actual - actual.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1.0 - np.sum(error**2) / total) if total > 0 else float("nan"),
    }

"""Regression: one number per row, scored by RMSE, MAE, R² and bias."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.objectives import plots
from tasks.objectives.baselines import mean_baseline
from tasks.objectives.contract import Predictor, Scorer
from tasks.objectives.metrics import headline_metrics, regression_metrics


class Regression:
    name = "regression"
    task = "regression"

    def scorer(self, spec: dict[str, Any], threshold: float) -> Scorer:
        return regression_metrics

    def headline(self, scores: dict[str, Any]) -> dict[str, float]:
        return {name: float(scores[name]) for name in [*headline_metrics(self.task), "bias"]}

    def targets(self, frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
        return frame[spec["target"]].to_numpy(dtype="float32")

    def actual(self, frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
        return frame[spec["target"]].to_numpy(dtype="float64")

    def predictions(self, output: Any) -> np.ndarray:
        return np.asarray(output, dtype="float64").ravel()

    def baseline(self, train: pd.DataFrame, spec: dict[str, Any]) -> tuple[str, Predictor, str]:
        return "mean", mean_baseline(train, spec["target"]), "the training mean, for every row"

    def prediction_frame(
        self, ids: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray, spec: dict[str, Any]
    ) -> pd.DataFrame:
        return ids.assign(actual=actual, predicted=predicted, residual=predicted - actual)

    def figures(self, record: dict[str, Any], predictions: pd.DataFrame) -> dict[str, str]:
        figures = {}
        if "timestamp" in predictions.columns:
            figures["predictions"] = plots.predictions_over_time(predictions, record["unit"])
        figures["residuals"] = plots.residuals(predictions)
        return figures

    def output_signature(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {"name": "output_0", "dtype": "float32", "shape": [1], "meaning": spec["target"]}


REGRESSION = Regression()

"""The contract of an objective: what evaluation, training targets and the serving output depend on.

Evaluation varies by objective (regression, binary or multi-class classification), never by kind of data: every
kind's model is scored, compared with its baselines and gated by the same code for its objective.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

Scorer = Callable[[np.ndarray, np.ndarray], dict[str, Any]]
Predictor = Callable[[pd.DataFrame], np.ndarray]


@runtime_checkable
class Objective(Protocol):
    name: str  # regression | binary | multiclass (the model card's signature.objective)
    task: str  # regression | classification (tasks.objectives.metrics.HEADLINE)

    def scorer(self, spec: dict[str, Any], threshold: float) -> Scorer:
        """Full scores of predictions against actual values (tasks.objectives.metrics)."""

    def headline(self, scores: dict[str, Any]) -> dict[str, float]:
        """The scalar scores that go to metrics.json (and that floors and champion checks may name)."""

    def targets(self, frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
        """Targets as `fit` takes them."""

    def actual(self, frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
        """Targets as the scorer takes them (values, or class names)."""

    def predictions(self, output: Any) -> np.ndarray:
        """The model's raw output as the scorer takes it (values, or (n, k) class probabilities)."""

    def baseline(self, train: pd.DataFrame, spec: dict[str, Any]) -> tuple[str, Predictor, str]:
        """The dumbest sensible predictor: (name, predictor, description)."""

    def prediction_frame(
        self, ids: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray, spec: dict[str, Any]
    ) -> pd.DataFrame:
        """predictions.csv: the row's ids, the actual value and the prediction."""

    def figures(self, record: dict[str, Any], predictions: pd.DataFrame) -> dict[str, str]:
        """The objective's figures of the evaluation report (data URIs by name)."""

    def output_signature(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The model card's `signature.output` (see /work/notes/SIGNATURE.md)."""

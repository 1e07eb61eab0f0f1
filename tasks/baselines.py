"""Baselines every model is scored beside, each fitted on the training split alone.

Always three: the problem's common-sense baseline (defined in its `pipelines/` entry), the dumbest sensible
predictor (the training mean for regression, the majority class for classification) and a scikit-learn linear
model (ridge regression / logistic regression). Regression predictors return values; classification predictors
return class probabilities, columns in the order of `classes`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TabularProblem

Predictor = Callable[[pd.DataFrame], np.ndarray]


def _feature_encoder(spec: dict[str, Any]) -> Any:
    """Standardised numbers and one-hot categories; categories unseen in training encode as all zeros, as the
    model's lookup layers treat them as out-of-vocabulary."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(spec["numeric"])),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(spec["categorical"])),
        ]
    )


def linear_baseline(train: pd.DataFrame, spec: dict[str, Any], alpha: float = 1.0) -> Predictor:
    """A scikit-learn ridge regression on the model's features, fitted on `train` only."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(_feature_encoder(spec), Ridge(alpha=alpha)).fit(train, train[spec["target"]])
    return lambda frame: np.asarray(model.predict(frame), dtype="float64")


def mean_baseline(train: pd.DataFrame, target: str) -> Predictor:
    """Predicts the training mean of `target` for every row."""
    mean = float(train[target].mean())
    return lambda frame: np.full(len(frame), mean, dtype="float64")


def majority_class_baseline(train: pd.DataFrame, target: str, classes: Sequence[Any]) -> Predictor:
    """Predicts the training class frequencies for every row, so its top class is the majority class (and its log
    loss stays finite)."""
    counts = train[target].value_counts()
    prior = np.array([counts.get(c, 0) for c in classes], dtype="float64")
    prior = prior / prior.sum()
    return lambda frame: np.tile(prior, (len(frame), 1))


def logistic_baseline(
    train: pd.DataFrame, spec: dict[str, Any], classes: Sequence[Any], max_iter: int = 1000
) -> Predictor:
    """A scikit-learn logistic regression on the model's features; probabilities ordered as `classes`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(_feature_encoder(spec), LogisticRegression(max_iter=max_iter))
    model.fit(train, train[spec["target"]])
    fitted = list(model.classes_)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        proba = model.predict_proba(frame)
        out = np.zeros((len(frame), len(classes)), dtype="float64")
        for i, name in enumerate(classes):
            if name in fitted:  # a class never seen in training gets probability 0
                out[:, i] = proba[:, fitted.index(name)]
        return out

    return predict


def fit_baselines(
    problem: TabularProblem, train: pd.DataFrame, spec: dict[str, Any], classes: Sequence[Any] | None = None
) -> dict[str, Predictor]:
    """The three baselines of `problem.task`, each fitted on `train` alone, by report name."""
    if problem.task == "regression":
        return {
            "common_sense": problem.common_sense_baseline(train),
            "mean": mean_baseline(train, spec["target"]),
            "linear": linear_baseline(train, spec),
        }
    if problem.task == "classification":
        if classes is None:
            raise ValueError("classification baselines need the list of classes")
        return {
            "common_sense": problem.common_sense_baseline(train),
            "majority_class": majority_class_baseline(train, spec["target"], classes),
            "logistic": logistic_baseline(train, spec, classes),
        }
    raise ValueError(f"problem '{problem.name}': unknown task {problem.task!r}")

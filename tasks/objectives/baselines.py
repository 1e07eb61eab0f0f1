"""Baselines every model is scored beside, each fitted on the training split alone.

Three kinds of baseline: the dumbest sensible predictor of the objective (the training mean for regression, the
class frequencies for classification: tasks/objectives/), the problem's common-sense rule (its `pipelines/` entry)
and a scikit-learn linear model on the model's inputs (from the kind: ridge/logistic regression on a table's
features, logistic regression on an image's pixels). Regression predictors return values; classification
predictors return class probabilities, columns in the order of `classes`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

Predictor = Callable[[pd.DataFrame], np.ndarray]


def first_doc_line(function: Any) -> str:
    """What a common-sense baseline does, from the first line of its docstring."""
    doc = (getattr(function, "__doc__", None) or "").strip().splitlines()
    return doc[0].removeprefix("Common-sense baseline:").strip() if doc else "the problem's common-sense rule"


def _feature_encoder(spec: dict[str, Any]) -> Any:
    """Standardised numbers and one-hot categories; categories unseen in training encode as all zeros, as the
    model's lookup layers treat them as out-of-vocabulary."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    complete = [n for n, c in spec["categorical"].items() if "missing" not in c]
    parts: list[tuple[str, Any, list[str]]] = [
        ("numeric", StandardScaler(), [n for n, s in spec["numeric"].items() if "missing" not in s]),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), complete),
    ]
    # columns with missing values in training: the model's own policy (mean + indicator; a "missing" category)
    gappy_numbers = [n for n, s in spec["numeric"].items() if "missing" in s]
    if gappy_numbers:
        imputed = make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler())
        parts.append(("numeric_missing", imputed, gappy_numbers))
    for name, info in spec["categorical"].items():
        if "missing" in info:
            fill = SimpleImputer(strategy="constant", fill_value=info["missing"]["marker"], missing_values=None)
            coded = make_pipeline(_as_object(), fill, OneHotEncoder(handle_unknown="ignore"))
            parts.append((f"categorical_missing_{name}", coded, [name]))
    return ColumnTransformer(parts)


def _as_object() -> Any:
    """A transformer making a column `object` with None for every missing value (NaN included)."""
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(lambda x: pd.DataFrame(x).astype(object).where(pd.DataFrame(x).notna(), None))


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


def aligned_probabilities(proba: np.ndarray, fitted: Sequence[Any], classes: Sequence[Any]) -> np.ndarray:
    """`proba` (columns ordered as `fitted`) with columns ordered as `classes`; a class never fitted gets 0."""
    out = np.zeros((len(proba), len(classes)), dtype="float64")
    fitted = list(fitted)
    for i, name in enumerate(classes):
        if name in fitted:
            out[:, i] = proba[:, fitted.index(name)]
    return out


def logistic_baseline(
    train: pd.DataFrame, spec: dict[str, Any], classes: Sequence[Any], max_iter: int = 1000
) -> Predictor:
    """A scikit-learn logistic regression on the model's features; probabilities ordered as `classes`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(_feature_encoder(spec), LogisticRegression(max_iter=max_iter))
    model.fit(train, train[spec["target"]])
    return lambda frame: aligned_probabilities(model.predict_proba(frame), model.classes_, classes)

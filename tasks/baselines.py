"""Baselines every model is scored beside; the problem's own common-sense baseline lives in `pipelines/`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

Predictor = Callable[[pd.DataFrame], np.ndarray]


def linear_baseline(train: pd.DataFrame, spec: dict[str, Any], alpha: float = 1.0) -> Predictor:
    """A scikit-learn ridge regression on standardised numbers and one-hot categories, fitted on `train` only.

    Categories unseen in training are ignored (all-zero one-hot), as the model's lookup layers treat them as OOV.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(spec["numeric"])),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(spec["categorical"])),
        ]
    )
    model = make_pipeline(columns, Ridge(alpha=alpha)).fit(train, train[spec["target"]])
    return lambda frame: np.asarray(model.predict(frame), dtype="float64")

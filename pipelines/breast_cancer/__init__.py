"""Breast cancer diagnosis (Wisconsin Diagnostic, as bundled with scikit-learn): binary classification of a tumour
as malignant or benign from 30 measurements of cell nuclei in a fine-needle aspirate image.

Frame: flag a sample as malignant so that a pathologist looks at it first; the positive class is `malignant`. The
table has no time column: the split is stratified and seeded (pipelines/breast_cancer/params.yaml), there are no
freshness or gap checks and no drift window. The source's column names hold spaces (`mean radius`); collect maps
them to safe names (`mean_radius`), which is what the features, the suites and the serving signature use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.problem import TabularProblem
from pipelines.tabular_model import build_dense_classifier

MEASURES = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave points")
MEASURES += ("symmetry", "fractal dimension")
SOURCE_FEATURES = (
    *(f"mean {m}" for m in MEASURES),
    *(f"{m} error" for m in MEASURES),
    *(f"worst {m}" for m in MEASURES),
)
FEATURES = tuple(name.replace(" ", "_") for name in SOURCE_FEATURES)


def worst_area_threshold(train: pd.DataFrame) -> Callable[[pd.DataFrame], np.ndarray]:
    """Common-sense baseline: malignant when the worst nucleus area is above the midpoint of the two classes'
    training means (p = 0.9), else benign (p = 0.1).

    Targets in `train` are class indices (0 = benign, 1 = malignant: the positive class comes last).
    """
    means = train.groupby("diagnosis")["worst_area"].mean()
    cut = float((means.loc[0] + means.loc[1]) / 2)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        p_malignant = np.where(frame["worst_area"].to_numpy(dtype="float64") > cut, 0.9, 0.1)
        return np.column_stack([1.0 - p_malignant, p_malignant])

    return predict


PROBLEM = TabularProblem(
    name="breast_cancer",
    task="classification",
    target="diagnosis",
    timestamp=None,
    numeric_features=FEATURES,
    categorical_features=(),
    leakage_columns=(),
    source_columns=(*SOURCE_FEATURES, "diagnosis"),
    expectations_dir=Path(__file__).parent / "expectations",
    build_model=build_dense_classifier,
    common_sense_baseline=worst_area_threshold,
    classes=(("benign", "benign"), ("malignant", "malignant")),
    positive_class="malignant",
    description="Breast Cancer Wisconsin (Diagnostic), 569 tumours, 30 nuclear measurements (UCI, CC BY 4.0).",
    extra={"unit": "diagnoses"},
)

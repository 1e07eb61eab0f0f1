"""The image kind's monitor: drift of simple per-image statistics between the training images and a new batch.

Images have no columns to compare, so each image is summarised by what shifts when a camera, a crop or a product
line changes: mean brightness, contrast (pixel standard deviation), ink share (pixels above a tenth of full
scale) and where the ink sits (centre of mass, row and column). The monitoring loop's calibrated rule
(tasks/monitoring/drift.py) judges these between the training split (reference) and the current batch; Evidently draws
them.
With no stream of new images in this repository the current batch is the held-out test split, which should show no
drift; point `monitor` at new data once images arrive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.core.artifacts import read_split
from tasks.core.params import Params
from tasks.kinds.contract import DriftResult, MeasureDrift
from tasks.kinds.image_table import to_arrays

STATISTICS = ("brightness", "contrast", "ink_share", "centre_row", "centre_col")


def image_statistics(images: np.ndarray) -> pd.DataFrame:
    """One row per image (n, h, w) of uint8: the statistics in STATISTICS, all scaled to 0..1."""
    scaled = images.astype("float32") / 255.0
    n, height, width = scaled.shape
    mass = scaled.sum(axis=(1, 2))
    safe = np.where(mass > 0, mass, 1.0)
    rows = (scaled.sum(axis=2) * np.arange(height)).sum(axis=1) / safe / max(height - 1, 1)
    cols = (scaled.sum(axis=1) * np.arange(width)).sum(axis=1) / safe / max(width - 1, 1)
    flat = scaled.reshape(n, -1)
    return pd.DataFrame(
        {
            "brightness": flat.mean(axis=1),
            "contrast": flat.std(axis=1),
            "ink_share": (flat > 0.1).mean(axis=1),
            "centre_row": rows,
            "centre_col": cols,
        }
    )


def measure_image_drift(
    reference: pd.DataFrame, current: pd.DataFrame, measure: MeasureDrift
) -> tuple[dict[str, Any], Any]:
    """The calibrated verdict over the statistics (tasks/monitoring/drift.py); (summary, Evidently snapshot)."""
    return measure(reference, current, STATISTICS, (), None)


def drift(
    problem: ImageProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
) -> DriftResult:
    reference = image_statistics(to_arrays(train, problem.image_shape)[0])
    current = image_statistics(to_arrays(read_split("test"), problem.image_shape)[0])
    summary, snapshot = measure_image_drift(reference, current, measure)

    def write(target: Path) -> None:
        snapshot.save_html(str(target))

    compared = {"current": "test split (stand-in for a new batch)", "reference": "training split"}
    return DriftResult({"status": "measured", **compared, **summary}, write)

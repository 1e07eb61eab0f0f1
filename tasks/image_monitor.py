"""monitor, for image problems: drift of simple per-image statistics between the training images and a new batch.

Images have no columns to compare, so each image is summarised by what shifts when a camera, a crop or a product
line changes: mean brightness, contrast (pixel standard deviation), ink share (pixels above a tenth of full
scale) and where the ink sits (centre of mass, row and column). Evidently's DataDriftPreset compares these between
the training split (reference) and the current batch. With no stream of new images in this repository the current
batch is the held-out test split, which should show no drift; point `monitor` at new data once images arrive.

Outputs (reports/monitoring/): `drift.html` (Evidently's self-contained report) and `drift.json`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.atomic import atomic_file, write_text
from tasks.image_tables import to_arrays
from tasks.monitor import REPORT_DIR
from tasks.params import Params

STATISTICS = ("brightness", "contrast", "ink_share", "centre_row", "centre_col")
log = logging.getLogger(__name__)


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
    reference: pd.DataFrame, current: pd.DataFrame, drift_share: float
) -> tuple[dict[str, Any], Any]:
    """Evidently's DataDriftPreset over the statistics; (summary, snapshot)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from tasks.monitor import drift_results

    definition = DataDefinition(numerical_columns=list(STATISTICS))
    snapshot = Report([DataDriftPreset(drift_share=drift_share)], include_tests=True).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    share, drifted = drift_results(snapshot)
    return {
        "drift_share": share,
        "drift_share_threshold": drift_share,
        "dataset_drift": share >= drift_share,
        "drifted_columns": sorted(drifted),
        "columns_checked": len(STATISTICS),
        "reference_rows": len(reference),
        "current_rows": len(current),
    }, snapshot


def main(params: Params, problem: ImageProblem) -> None:
    from tasks.train import read_split

    threshold = params.get("monitor.drift_share", float, minimum=0.0, maximum=1.0)
    reference = image_statistics(to_arrays(read_split("train"), problem.image_shape)[0])
    current = image_statistics(to_arrays(read_split("test"), problem.image_shape)[0])
    summary, snapshot = measure_image_drift(reference, current, threshold)
    summary = {"status": "measured", "current": "test split (stand-in for a new batch)", **summary}
    with atomic_file(REPORT_DIR / "drift.html") as tmp:
        snapshot.save_html(str(tmp))
    write_text(REPORT_DIR / "drift.json", json.dumps(summary, indent=2) + "\n")
    log.info(
        "drift share %.2f (threshold %.2f); drifted: %s", summary["drift_share"], threshold, summary["drifted_columns"]
    )

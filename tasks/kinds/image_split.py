"""The image kind's featurize: hold out a stratified validation part of the source's training images.

The source's own test split stays the test split (never seen in training or early stopping). Pixel statistics
for the model's standardisation layer come from the training part alone. Outputs (data/features/): `train.parquet`,
`val.parquet`, `test.parquet` (see tasks.kinds.image_table) and `spec.json`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.core.artifacts import VALIDATED, read_parquet, write_features
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.kinds.image_table import to_arrays

log = logging.getLogger(__name__)


def stratified_holdout(frame: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, holdout): `fraction` of each label's rows, drawn with `seed`, go to the holdout; order is kept."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(frame), dtype=bool)
    for _, positions in frame.groupby("label").indices.items():
        take = round(len(positions) * fraction)
        held[rng.choice(positions, size=take, replace=False)] = True
    if held.all() or not held.any():
        raise PipelineError(
            f"featurize.val_fraction={fraction}: {len(frame)} training images cannot be split into train and val"
        )
    return frame.loc[~held].reset_index(drop=True), frame.loc[held].reset_index(drop=True)


def fit_image_spec(train: pd.DataFrame, problem: ImageProblem) -> dict[str, Any]:
    """What the model's preprocessing needs, from the training part alone: pixel mean and variance in [0, 1]."""
    images, _ = to_arrays(train, problem.image_shape)
    scaled = images.astype("float64") / 255.0
    return {
        "kind": "image",
        "problem": problem.name,
        "task": problem.task,
        "target": problem.target,
        "classes": list(problem.classes),
        "image_shape": list(problem.image_shape),
        "pixel_mean": float(scaled.mean()),
        "pixel_variance": float(scaled.var()),
        "train_rows": len(train),
    }


def split_images(frame: pd.DataFrame, val_fraction: float, seed: int) -> dict[str, pd.DataFrame]:
    train, val = stratified_holdout(frame[frame["split"] == "train"].reset_index(drop=True), val_fraction, seed)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    if test.empty:
        raise PipelineError(f"{VALIDATED}: no images of the source's test split")
    return {"train": train, "val": val, "test": test}


def featurize(problem: ImageProblem, params: Params) -> dict[str, Any]:
    val_fraction = params.get("featurize.val_fraction", float, minimum=0.01, maximum=0.9)
    seed = params.get("featurize.seed", int, 0)
    splits = split_images(read_parquet(VALIDATED), val_fraction, seed)
    spec = fit_image_spec(splits["train"], problem)
    spec["splits"] = {
        name: {"rows": len(part), "per_class": np.bincount(part["label"], minlength=len(problem.classes)).tolist()}
        for name, part in splits.items()
    }
    write_features({name: part.drop(columns=["split"]) for name, part in splits.items()}, spec)
    log.info("split %s", {k: v["rows"] for k, v in spec["splits"].items()})
    return spec

"""The image kind: fixed-size greyscale images with integer labels, read from IDX files.

Its hooks live in small modules beside this one: `image_source` (collect), `image_checks` (validate), `image_split`
(featurize), `image_drift` (monitor), `image_table` (images as Parquet rows); this module gathers them and adds
what an image model needs: raw uint8 pixels as the one input, its signature, a pixel logistic-regression baseline
and occlusion importance (the image counterpart of permutation importance).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.core.params import Params
from tasks.kinds import image_checks, image_drift, image_source, image_split
from tasks.kinds.contract import DriftResult, MeasureDrift, Predictor
from tasks.kinds.image_table import to_arrays
from tasks.objectives.baselines import aligned_probabilities


def occluded(frame: pd.DataFrame, shape: tuple[int, int], rows: slice, cols: slice) -> pd.DataFrame:
    """`frame` with the region [rows, cols] of every image set to 0."""
    images, _ = to_arrays(frame, shape)
    images = images.copy()
    images[:, rows, cols] = 0
    return frame.assign(image=[row.tobytes() for row in images.reshape(len(images), -1)])


def occlusion_importance(
    predict: Predictor,
    test: pd.DataFrame,
    actual: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    lower_is_better: bool,
    shape: tuple[int, int],
    grid: int = 4,
) -> list[dict[str, Any]]:
    """The score lost when one cell of a `grid` x `grid` partition of every image is blanked (set to 0): which
    regions the model relies on. Rows sorted by loss, largest first."""
    reference = score(actual, predict(test))
    height, width = shape
    rows = []
    for i in range(grid):
        for j in range(grid):
            r0, r1 = i * height // grid, (i + 1) * height // grid
            c0, c1 = j * width // grid, (j + 1) * width // grid
            value = score(actual, predict(occluded(test, shape, slice(r0, r1), slice(c0, c1))))
            loss = value - reference if lower_is_better else reference - value
            rows.append(
                {
                    "feature": f"rows {r0}-{r1 - 1}, cols {c0}-{c1 - 1}",
                    "score_loss_mean": float(loss),
                    "score_loss_std": 0.0,
                    "reference_score": float(reference),
                }
            )
    return sorted(rows, key=lambda row: row["score_loss_mean"], reverse=True)


def pixel_logistic_baseline(train: pd.DataFrame, spec: dict[str, Any], max_images: int, seed: int = 0) -> Predictor:
    """A scikit-learn logistic regression on the raw pixels (scaled to 0..1), fitted on at most `max_images`
    training images; probabilities ordered as the spec's classes."""
    from sklearn.linear_model import LogisticRegression

    shape = tuple(spec["image_shape"])
    images, labels = to_arrays(train, shape)
    take = np.random.default_rng(seed).choice(len(images), size=min(max_images, len(images)), replace=False)
    model = LogisticRegression(max_iter=300, C=0.1).fit(images.reshape(len(images), -1)[take] / 255.0, labels[take])
    classes = list(range(len(spec["classes"])))

    def predict(frame: pd.DataFrame) -> np.ndarray:
        pixels = to_arrays(frame, shape)[0]
        return aligned_probabilities(
            model.predict_proba(pixels.reshape(len(pixels), -1) / 255.0), model.classes_, classes
        )

    return predict


class ImageKind:
    name = "image"
    param_keys: Mapping[str, frozenset[str]] = {
        "collect": frozenset({"checksums"}),
        "validate": frozenset({"min_class_ratio", "max_blank_share"}),
        "featurize": frozenset(),
        "train": frozenset({"filters", "convs_per_block", "dense_units", "augmentation"}),
        "evaluate": frozenset({"linear_max_images"}),
        "monitor": frozenset(),
    }

    def collect(self, problem: ImageProblem, params: Params) -> None:
        image_source.collect(problem, params)

    def validate(self, problem: ImageProblem, params: Params) -> None:
        image_checks.validate(problem, params)

    def featurize(self, problem: ImageProblem, params: Params) -> dict[str, Any]:
        return image_split.featurize(problem, params)

    def model_inputs(self, frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
        """The one input `image`: uint8 pixels shaped (n, height, width)."""
        import tensorflow as tf

        return {"image": tf.constant(to_arrays(frame, spec["image_shape"])[0])}

    def signature_inputs(self, spec: dict[str, Any], train: pd.DataFrame) -> list[dict[str, Any]]:
        shape = [int(v) for v in spec["image_shape"]]
        return [{"name": "image", "dtype": "uint8", "shape": shape, "range": {"min": 0, "max": 255}}]

    def card_inputs(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {"image": {"dtype": "uint8", "shape": [None, *spec["image_shape"]], "values": "raw pixels 0..255"}}

    def write_savedmodel(self, model: Any, target: Path, spec: dict[str, Any]) -> None:
        """A SavedModel whose `serving_default` runs the model with `training=False`, taking uint8 images as `image`.

        Not `model.export()`: it traces the model without a training flag, and Keras' random augmentation layers
        default to training mode, so the exported model would augment (randomly shift and flip) every served image.
        """
        import keras
        import tensorflow as tf

        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            name="serve",
            fn=lambda image: model(image, training=False),
            input_signature=[tf.TensorSpec(shape=(None, *spec["image_shape"]), dtype=tf.uint8, name="image")],
        )
        archive.write_out(str(target), verbose=False)

    def baselines(
        self, problem: ImageProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any]
    ) -> dict[str, tuple[Predictor, str]]:
        max_images = params.get("evaluate.linear_max_images", int, 10_000, minimum=10)
        return {
            "logistic": (
                pixel_logistic_baseline(train, spec, max_images),
                f"scikit-learn logistic regression on the raw pixels (at most {max_images} training images)",
            )
        }

    def importance(
        self,
        predict: Predictor,
        test: pd.DataFrame,
        actual: np.ndarray,
        score: Callable[[np.ndarray, np.ndarray], float],
        lower_is_better: bool,
        repeats: int,
        seed: int,
        spec: dict[str, Any],
    ) -> list[dict[str, Any]]:
        shape = (int(spec["image_shape"][0]), int(spec["image_shape"][1]))
        return occlusion_importance(predict, test, actual, score, lower_is_better, shape)

    def drift(
        self, problem: ImageProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
    ) -> DriftResult:
        return image_drift.drift(problem, params, train, spec, measure)

    def prediction_ids(self, test: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
        return pd.DataFrame({"index": np.arange(len(test))})


IMAGE = ImageKind()

"""export, for image problems: a SavedModel whose serving signature takes raw uint8 images (n, height, width).

Scaling, standardisation and the (inactive at inference) augmentation layers are inside the model. The SavedModel
is reloaded with `tf.saved_model.load` and must reproduce the Keras model's test probabilities within
`export.tolerance`, else the stage fails and the last good export stays.

Outputs (data/export/): `savedmodel/` and `model_card.json` (lineage: git commit, input hashes, params, metrics).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.problem import ImageProblem
from tasks.export import load_trained_model, write_checked_export
from tasks.params import Params
from tasks.signature import image_signature

log = logging.getLogger(__name__)


def export_inference_savedmodel(model: Any, target: Path, image_shape: list[int]) -> None:
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
        input_signature=[tf.TensorSpec(shape=(None, *image_shape), dtype=tf.uint8, name="image")],
    )
    archive.write_out(str(target), verbose=False)


def image_model_card(
    spec: dict[str, Any], params: Params, problem: ImageProblem, reload_difference: float
) -> dict[str, Any]:
    """The model card of an image model: raw uint8 images in, class probabilities out."""
    from tasks.export import card_with_lineage

    return card_with_lineage(
        spec,
        params,
        reload_difference,
        inputs={"image": {"dtype": "uint8", "shape": [None, *spec["image_shape"]], "values": "raw pixels 0..255"}},
        output={"name": "output_0", "meaning": "class probabilities", "classes": list(problem.classes)},
    )


def main(params: Params, problem: ImageProblem) -> None:
    tolerance, spec, model, inputs = load_trained_model(params)
    keras_probabilities = np.asarray(model.predict(inputs["image"], batch_size=512, verbose=0))
    difference = write_checked_export(
        lambda target: export_inference_savedmodel(model, target, spec["image_shape"]),
        inputs,
        keras_probabilities,
        tolerance,
        lambda diff: {
            **image_model_card(spec, params, problem, diff),
            "signature": image_signature(spec, list(problem.classes)),
        },
    )
    log.info("exported SavedModel taking raw uint8 images; reload differs from Keras by at most %.3g", difference)

"""export, for image problems: a SavedModel whose serving signature takes raw uint8 images (n, height, width).

Scaling, standardisation and the (inactive at inference) augmentation layers are inside the model. The SavedModel
is reloaded with `tf.saved_model.load` and must reproduce the Keras model's test probabilities within
`export.tolerance`, else the stage fails and the last good export stays.

Outputs (data/export/): `savedmodel/` and `model_card.json` (lineage: git commit, input hashes, params, metrics).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.problem import ImageProblem
from tasks.atomic import atomic_dir
from tasks.errors import PipelineError
from tasks.lineage import git_revision, sha256_path
from tasks.params import Params

MODEL = Path("data/model/model.keras")
METRICS = Path("reports/evaluation/metrics.json")
BLESSING = Path("data/evaluation/blessing.json")
OUT_DIR = Path("data/export")
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
    from tasks.train import FEATURES_DIR

    return {
        "model": spec["problem"],
        "task": spec["task"],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": {"image": {"dtype": "uint8", "shape": [None, *spec["image_shape"]], "values": "raw pixels 0..255"}},
        "output": {"name": "output_0", "meaning": "class probabilities", "classes": list(problem.classes)},
        "lineage": {
            "git": git_revision(),
            "data": {p.name: sha256_path(p) for p in sorted(FEATURES_DIR.glob("*")) if p.is_file()},
            "keras_model_sha256": sha256_path(MODEL),
            "params": {k: params.section(k) for k in ("collect", "featurize", "train")},
        },
        "splits": spec.get("splits", {}),
        "metrics": json.loads(METRICS.read_text()) if METRICS.exists() else None,
        "blessing": json.loads(BLESSING.read_text()) if BLESSING.exists() else None,
        "export_check": {"max_abs_difference_vs_keras": reload_difference},
    }


def main(params: Params, problem: ImageProblem) -> None:
    from tasks.export import max_reload_difference
    from tasks.train import model_inputs, read_spec, read_split

    tolerance = params.get("export.tolerance", float, minimum=0.0)
    if not MODEL.exists():
        raise PipelineError(f"{MODEL}: not found; run the train stage first")
    spec = read_spec()
    test = read_split("test")

    import keras

    model = keras.models.load_model(MODEL)
    inputs = model_inputs(test, spec)
    keras_probabilities = np.asarray(model.predict(inputs["image"], batch_size=512, verbose=0))
    with atomic_dir(OUT_DIR) as tmp:
        export_inference_savedmodel(model, tmp / "savedmodel", spec["image_shape"])
        difference = max_reload_difference(tmp / "savedmodel", keras_probabilities, inputs)
        if difference > tolerance:
            raise PipelineError(
                f"export: the reloaded SavedModel differs from the Keras model by {difference:.3g} on the test "
                f"split (export.tolerance is {tolerance}); the previous export was kept"
            )
        card = image_model_card(spec, params, problem, difference)
        (tmp / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    log.info("exported SavedModel taking raw uint8 images; reload differs from Keras by at most %.3g", difference)

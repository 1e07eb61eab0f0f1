"""export: write the trained model as a TensorFlow SavedModel whose serving signature takes raw inputs.

The preprocessing layers are inside the model, so serving needs no feature code; the kind writes the SavedModel
(tasks/kinds/: a table's named raw columns, an image kind's uint8 pixels in inference mode). After export the
SavedModel is reloaded with `tf.saved_model.load` and must reproduce the Keras model's test predictions within
`export.tolerance`, else the stage fails and the last good export stays.

Outputs (data/export/), byte-reproducible (tasks/core/reproducible.py): `savedmodel/` and `model_card.json`: lineage
(input hashes, params), metrics, the blessing, and the serving `signature` (inputs with dtypes, shapes and training
ranges or categories; the output and its classes), whose shape /work/notes/SIGNATURE.md fixes. The git commit and
the time of a model are recorded when it is deployed (`assets.extra/deployment.json` in the store). And
`holdout.parquet`, the rows the model is blessed on, hashed in the card's `holdout`: the problem's fixed holdout
(data/features/holdout.parquet, `featurize.holdout`) when it has one, else the test split. Deploy stores it with the
version, and it becomes the trusted holdout the next candidates are compared on (tasks/evaluation/holdout.py).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.artifacts import BLESSING, EXPORT_DIR, FEATURES_DIR, METRICS, MODEL, read_spec, read_split, require
from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError, run_stage
from tasks.core.lineage import sha256_path
from tasks.core.params import Params
from tasks.core.reproducible import write_savedmodel_reproducibly
from tasks.evaluation.holdout import HOLDOUT_FILE, holdout_card
from tasks.kinds import KINDS
from tasks.kinds.selection import select
from tasks.objectives import objective_for
from tasks.training.fit import as_model_input, model_inputs

OUT_DIR = EXPORT_DIR
log = logging.getLogger(__name__)


def export_savedmodel(model: Any, target: Path) -> None:
    """A table model's SavedModel (Keras' own export; the model has no training-only layers)."""
    model.export(str(target), format="tf_saved_model", verbose=False)


def max_reload_difference(savedmodel_dir: Path, keras_predictions: np.ndarray, inputs: dict[str, Any]) -> float:
    """Largest absolute difference between the reloaded SavedModel's serving signature and Keras' predictions."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(savedmodel_dir))
    served = loaded.signatures["serving_default"](**inputs)["output_0"].numpy()
    return float(np.max(np.abs(served.ravel() - keras_predictions.ravel())))


def signature(spec: dict[str, Any], train: pd.DataFrame) -> dict[str, Any]:
    """The card's `signature` block (/work/notes/SIGNATURE.md): the kind describes the inputs, the objective the
    output."""
    objective = objective_for(spec)
    return {
        "name": "serving_default",
        "kind": spec["kind"],
        "objective": objective.name,
        "inputs": KINDS[spec["kind"]].signature_inputs(spec, train),
        "output": objective.output_signature(spec),
    }


def model_card(
    spec: dict[str, Any], params: Params, reload_difference: float, train: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Lineage and evaluation of the exported model, for any problem, with its serving signature.

    A gate override is stated at the top level, not only inside the blessing, so no reader misses it.
    """
    blessing = json.loads(BLESSING.read_text()) if BLESSING.exists() else None
    output = {"name": "output_0", "meaning": spec["target"]}
    if spec.get("classes"):
        output = {"name": "output_0", "meaning": "class probabilities", "classes": list(spec["classes"])}
    card = {
        "model": spec["problem"],
        "task": spec["task"],
        "inputs": KINDS[spec["kind"]].card_inputs(spec),
        "output": output,
        # content hashes only: the git commit and the time go with the deploy into the store (deployment.json),
        # so the same model gives the same card on any machine and at any commit
        "lineage": {
            "data": {p.name: sha256_path(p) for p in sorted(FEATURES_DIR.glob("*")) if p.is_file()},
            "keras_model_sha256": sha256_path(MODEL),
            "params": {k: params.section(k) for k in ("collect", "featurize", "train")},
        },
        "splits": spec.get("splits", {}),
        "metrics": json.loads(METRICS.read_text()) if METRICS.exists() else None,
        "blessing": blessing,
        "gate_override": {"overridden": True, "reason": blessing.get("override_reason")}
        if blessing and blessing.get("overridden")
        else {"overridden": False},
        "export_check": {"max_abs_difference_vs_keras": reload_difference},
    }
    if train is not None:
        card["signature"] = signature(spec, train)
    holdout = holdout_source()
    if holdout is not None:  # the rows it is blessed on: its trusted holdout once promoted
        card["holdout"] = holdout_card(holdout)
        if spec.get("holdout"):  # the problem's fixed holdout (featurize.holdout): the same rows in every version
            card["holdout"]["fixed"] = {k: spec["holdout"][k] for k in ("rule", "row_ids_sha256")}
    return card


def holdout_source(features_dir: Path = FEATURES_DIR) -> Path | None:
    """The rows stored with the model as its holdout: the problem's fixed holdout (data/features/holdout.parquet,
    `featurize.holdout`: never in any version's training), else the test split (renewed with each version)."""
    for name in (HOLDOUT_FILE, "test.parquet"):
        if (features_dir / name).is_file():
            return features_dir / name
    return None


def write_checked_export(
    write_savedmodel: Callable[[Path], None],
    inputs: dict[str, Any],
    keras_predictions: np.ndarray,
    tolerance: float,
    card: Callable[[float], dict[str, Any]],
) -> float:
    """Export into a temporary folder, reload it, and replace data/export only if it serves what Keras predicts.

    Returns the largest absolute difference; above `tolerance` a PipelineError leaves the last good export.
    """
    with atomic_dir(OUT_DIR) as tmp:
        write_savedmodel(tmp / "savedmodel")
        difference = max_reload_difference(tmp / "savedmodel", keras_predictions, inputs)
        if difference > tolerance:
            raise PipelineError(
                f"export: the reloaded SavedModel differs from the Keras model by {difference:.3g} on the test "
                f"split (export.tolerance is {tolerance}); the previous export was kept"
            )
        written = card(difference)
        holdout = holdout_source()
        if "holdout" in written and holdout is not None:  # the file the card hashes, byte for byte (holdout.py)
            shutil.copyfile(holdout, tmp / HOLDOUT_FILE)
        (tmp / "model_card.json").write_text(json.dumps(written, indent=2) + "\n")
    return difference


def main() -> None:
    selection = select()
    params, kind = selection.params, selection.kind
    tolerance = params.get("export.tolerance", float, minimum=0.0)
    require(MODEL)
    spec = read_spec()
    train = read_split("train")
    inputs = model_inputs(read_split("test"), spec)

    import keras

    keras.utils.set_random_seed(0)  # dropout/augmentation layers draw their RNG state at load: fix it
    model = keras.models.load_model(MODEL)
    keras_predictions = np.asarray(model.predict(as_model_input(inputs), batch_size=512, verbose=0))
    difference = write_checked_export(
        lambda target: write_savedmodel_reproducibly(lambda t: kind.write_savedmodel(model, t, spec), target),
        inputs,
        keras_predictions,
        tolerance,
        lambda diff: model_card(spec, params, diff, train),
    )
    log.info("exported SavedModel; reload differs from Keras by at most %.3g", difference)


if __name__ == "__main__":
    run_stage("export", main)

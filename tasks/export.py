"""export: write the trained model as a TensorFlow SavedModel whose serving signature takes raw feature values.

The preprocessing layers are inside the model, so serving needs no feature code. After export the SavedModel is
reloaded with `tf.saved_model.load` and must reproduce the Keras model's test predictions within
`export.tolerance`, else the stage fails and the last good export stays.

Outputs (data/export/): `savedmodel/` and `model_card.json` (lineage: git commit, input hashes, params, metrics).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import load_problem
from tasks.atomic import atomic_dir
from tasks.errors import PipelineError, run_stage
from tasks.lineage import git_revision, sha256_path
from tasks.params import Params
from tasks.signature import table_signature
from tasks.train import FEATURES_DIR, model_inputs, read_spec, read_split

MODEL = Path("data/model/model.keras")
METRICS = Path("reports/evaluation/metrics.json")
BLESSING = Path("data/evaluation/blessing.json")
OUT_DIR = Path("data/export")
log = logging.getLogger(__name__)


def export_savedmodel(model: Any, target: Path) -> None:
    model.export(str(target), format="tf_saved_model", verbose=False)


def max_reload_difference(savedmodel_dir: Path, keras_predictions: np.ndarray, inputs: dict[str, Any]) -> float:
    """Largest absolute difference between the reloaded SavedModel's serving signature and Keras' predictions."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(savedmodel_dir))
    served = loaded.signatures["serving_default"](**inputs)["output_0"].numpy()
    return float(np.max(np.abs(served.ravel() - keras_predictions.ravel())))


def model_card(spec: dict[str, Any], params: Params, reload_difference: float) -> dict[str, Any]:
    """The model card of a tabular model: raw feature columns in, the target out."""
    return card_with_lineage(
        spec,
        params,
        reload_difference,
        inputs={
            "numeric": list(spec["numeric"]),
            "categorical": {k: v["dtype"] for k, v in spec["categorical"].items()},
        },
        output={"name": "output_0", "meaning": spec["target"]},
    )


def card_with_lineage(
    spec: dict[str, Any], params: Params, reload_difference: float, inputs: dict[str, Any], output: dict[str, Any]
) -> dict[str, Any]:
    """Lineage and evaluation of the exported model, for any problem; `inputs`/`output` describe its signature.

    A gate override is stated at the top level, not only inside the blessing, so no reader misses it.
    """
    blessing = json.loads(BLESSING.read_text()) if BLESSING.exists() else None
    return {
        "model": spec["problem"],
        "task": spec["task"],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": inputs,
        "output": output,
        "lineage": {
            "git": git_revision(),
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
        (tmp / "model_card.json").write_text(json.dumps(card(difference), indent=2) + "\n")
    return difference


def load_trained_model(params: Params) -> tuple[float, dict[str, Any], Any, dict[str, Any]]:
    """`export.tolerance`, the feature spec, the trained Keras model and the test split as the model's inputs."""
    tolerance = params.get("export.tolerance", float, minimum=0.0)
    if not MODEL.exists():
        raise PipelineError(f"{MODEL}: not found; run the train stage first")
    spec = read_spec()

    import keras

    return tolerance, spec, keras.models.load_model(MODEL), model_inputs(read_split("test"), spec)


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    if problem.kind == "image":  # images take their own path through this stage
        from tasks import image_export

        return image_export.main(params, problem)
    tolerance, spec, model, inputs = load_trained_model(params)
    keras_predictions = np.asarray(model.predict(inputs, verbose=0))
    difference = write_checked_export(
        lambda target: export_savedmodel(model, target),
        inputs,
        keras_predictions,
        tolerance,
        lambda diff: {**model_card(spec, params, diff), "signature": table_signature(spec, read_split("train"))},
    )
    log.info("exported SavedModel; reload differs from Keras by at most %.3g", difference)


if __name__ == "__main__":
    run_stage("export", main)

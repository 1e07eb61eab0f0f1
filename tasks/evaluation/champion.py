"""The champion: the model in production, read from the model store and scored as it is served.

It is loaded the way serving loads it (`tf.saved_model.load` and the `serving_default` signature, raw feature values
in, `output_0` out), so the candidate is compared with what users actually get.

Why the store is not a DVC dependency of `evaluate`: the store is a deployment target outside DVC (git-ignored),
and its production pointer is written by `deploy`, downstream of `evaluate`; as a dependency it would make every
deploy invalidate the evaluation that allowed it. Instead the blessing records the champion's version and content
fingerprint, and `deploy` refuses a blessing measured against a production model that is no longer in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.store.model_store import ModelStore
from tasks.store.pointer import checked_production


def champion_identity(store: ModelStore) -> dict[str, Any] | None:
    """{version, fingerprint, path} of the production model, or None when nothing is in production."""
    pointer = checked_production(store)  # a corrupt or dangling pointer stops the run, naming the repair
    if pointer is None:
        return None
    version = int(pointer["version"])
    return {"version": version, "fingerprint": store.fingerprint(version), "path": str(store.version_dir(version))}


def savedmodel_predictions(savedmodel_dir: Path, frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """Predictions of a SavedModel's serving signature on `frame` (raw features, as the current spec types them)."""
    import tensorflow as tf

    from tasks.training.fit import model_inputs

    if not (savedmodel_dir / "saved_model.pb").exists():
        raise FileNotFoundError(f"{savedmodel_dir}: no saved_model.pb")
    loaded = tf.saved_model.load(str(savedmodel_dir))
    serve = loaded.signatures["serving_default"]
    expected = set(serve.structured_input_signature[1])
    inputs = model_inputs(frame, spec)
    if expected != set(inputs):
        missing, extra = sorted(expected - set(inputs)), sorted(set(inputs) - expected)
        raise ValueError(f"its inputs differ from the current features (it needs {missing}; it lacks {extra})")
    return np.asarray(serve(**inputs)["output_0"].numpy(), dtype="float64")

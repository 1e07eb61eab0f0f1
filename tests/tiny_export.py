"""A real (tiny) export for store and deploy tests: a SavedModel whose one weight is derived from `weights`.

The model store recognises a model by its weights' values (tasks/store/model_identity.py), so the stand-in must be a
SavedModel TensorFlow can load: equal `weights` give equal fingerprints, different ones different fingerprints.
Each distinct model is exported once per process and copied (an export costs about a second).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from functools import cache
from pathlib import Path


@cache
def _exported(weights: bytes) -> Path:
    import keras
    import numpy as np

    value = int.from_bytes(hashlib.sha256(weights).digest()[:3], "big") / 1000.0
    model = keras.Sequential([keras.Input((1,), name="x"), keras.layers.Dense(1, name="dense")])
    model.get_layer("dense").set_weights([np.full((1, 1), value, "float32"), np.zeros(1, "float32")])
    target = Path(tempfile.mkdtemp(prefix="tiny-export-")) / "savedmodel"
    model.export(str(target), verbose=False)
    return target


def write_tiny_export(root: Path, weights: bytes, card: str = "{}") -> Path:
    """`root`/savedmodel (a real SavedModel, its weight set by `weights`) and `root`/model_card.json (`card`)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_exported(weights), root / "savedmodel")
    (root / "model_card.json").write_text(card)
    return root

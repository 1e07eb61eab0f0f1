"""Which model a SavedModel is: a fingerprint over its weights' values by name, not over file bytes.

Two exports of the same trained weights can differ in their files (TensorFlow numbers functions afresh, Keras used to
list the checkpoint's variables in memory order, the fingerprint file holds a random UUID), so a hash of the files
would see two models where there is one and deploy would add a version for nothing. The fingerprint reads the
variables the SavedModel restores, keyed by their names (Keras variable paths such as `dense_0/kernel`), and hashes
name, dtype, shape and values in name order. Random-number-generator state (`seed_generator_state` of dropout and
augmentation layers) is left out: it does not change what the served model predicts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

SCHEME = "weights-v1"  # stored beside the hash, so a later scheme never matches an older one by accident
_RNG_STATE = "seed_generator_state"


def fingerprint_weights(named: dict[str, np.ndarray]) -> str:
    """`weights-v1:<sha256>` over `named` (name -> array) in name order: name, dtype, shape, then the bytes."""
    digest = hashlib.sha256()
    for name in sorted(named):
        value = np.ascontiguousarray(named[name])
        digest.update(f"{name}\0{value.dtype.str}\0{value.shape}\0".encode())
        digest.update(value.tobytes())
    return f"{SCHEME}:{digest.hexdigest()}"


def savedmodel_weights(savedmodel: Path) -> dict[str, np.ndarray]:
    """The variables a SavedModel restores, by name (without the `:0` suffix), RNG state left out.

    Fails with ValueError naming the folder when two variables share a name (the fingerprint would be ambiguous)
    or the SavedModel was not exported by Keras (no `variables` list).
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(savedmodel))
    variables = getattr(loaded, "variables", None)
    if variables is None:
        raise ValueError(f"{savedmodel}: no `variables` list; not a SavedModel exported by Keras")
    named: dict[str, np.ndarray] = {}
    for variable in variables:
        name = variable.name.removesuffix(":0")
        if _RNG_STATE in name:
            continue
        if name in named:
            raise ValueError(f"{savedmodel}: two variables are named {name!r}; cannot fingerprint by name")
        named[name] = variable.numpy()
    return named


def savedmodel_fingerprint(savedmodel: Path) -> str:
    """The weights fingerprint of the SavedModel in `savedmodel` (see the module's docstring)."""
    return fingerprint_weights(savedmodel_weights(savedmodel))

"""Model identity: a fingerprint over the weights' values by name, so two exports of one trained model are one model
and redeploying it never adds a version; and the SavedModel export itself is byte-reproducible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tasks.store.model_identity import fingerprint_weights, savedmodel_fingerprint
from tasks.store.model_store import ModelStore
from tests.conftest import subprocess_env

pytestmark = pytest.mark.timeout(600)

# Loads a .keras model and exports it in a fresh process, as the export stage does (argv: model, target, "plain" for
# Keras' own export, "reproducible" for the stage's).
EXPORT = """
import sys
from pathlib import Path
import keras
from tasks.core.reproducible import write_savedmodel_reproducibly
model_path, target, how = sys.argv[1:4]
keras.utils.set_random_seed(0)
model = keras.models.load_model(model_path)
if how == "plain":
    model.export(target, format="tf_saved_model", verbose=False)
else:
    write_savedmodel_reproducibly(lambda t: model.export(str(t), format="tf_saved_model", verbose=False), Path(target))
"""


def test_fingerprint_depends_on_names_and_values_not_on_order() -> None:
    kernel, bias = np.arange(6, dtype="float32").reshape(2, 3), np.zeros(3, dtype="float32")
    first = fingerprint_weights({"dense/kernel": kernel, "dense/bias": bias})
    assert first == fingerprint_weights({"dense/bias": bias.copy(), "dense/kernel": kernel.copy()})
    assert first.startswith("weights-v1:")
    assert first != fingerprint_weights({"dense/kernel": kernel, "dense/bias": bias + 1e-7})
    assert first != fingerprint_weights({"other/kernel": kernel, "dense/bias": bias})
    assert first != fingerprint_weights({"dense/kernel": kernel.astype("float64"), "dense/bias": bias})


@pytest.fixture(scope="module")
def keras_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(4,), name="x")
    hidden = keras.layers.Dense(8, activation="relu", name="dense_0")(inputs)
    hidden = keras.layers.Dropout(0.1)(hidden)  # has RNG state, which is not part of the identity
    model = keras.Model(inputs, keras.layers.Dense(1, name="prediction")(hidden))
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return path


def export_in_new_process(model: Path, target: Path, how: str) -> Path:
    done = subprocess.run(
        [sys.executable, "-c", EXPORT, str(model), str(target), how],
        cwd=Path(__file__).resolve().parent.parent,
        env=subprocess_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_exports_of_the_same_weights_share_a_fingerprint_and_one_version(keras_model: Path, tmp_path: Path) -> None:
    first = export_in_new_process(keras_model, tmp_path / "first", "plain")
    second = export_in_new_process(keras_model, tmp_path / "second", "plain")
    assert (first / "fingerprint.pb").read_bytes() != (second / "fingerprint.pb").read_bytes()  # a random uuid
    assert savedmodel_fingerprint(first) == savedmodel_fingerprint(second)

    store = ModelStore(tmp_path / "store", "m")
    assert store.add_version(first, {}) == (1, True)
    assert store.add_version(second, {}) == (1, False)  # redeploying the same model adds no version
    assert store.versions() == [1]


def test_different_weights_are_a_different_model(keras_model: Path, tmp_path: Path) -> None:
    import keras

    model = keras.models.load_model(keras_model)
    model.export(str(tmp_path / "same"), format="tf_saved_model", verbose=False)
    model.get_layer("prediction").bias.assign(np.ones(1, dtype="float32"))
    model.export(str(tmp_path / "other"), format="tf_saved_model", verbose=False)
    assert savedmodel_fingerprint(tmp_path / "same") != savedmodel_fingerprint(tmp_path / "other")


def test_the_stage_export_gives_the_same_bytes_in_two_processes(keras_model: Path, tmp_path: Path) -> None:
    first = export_in_new_process(keras_model, tmp_path / "first", "reproducible")
    second = export_in_new_process(keras_model, tmp_path / "second", "reproducible")
    assert file_bytes(first) == file_bytes(second)

"""The CNN on a slice of the bundled sample: determinism, raw uint8 input, augmentation only while training,
and a SavedModel that serves raw images with the Keras model's probabilities (imports TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.fashion_mnist import PROBLEM
from tasks.kinds.image_source import read_image_source
from tasks.kinds.image_split import fit_image_spec, split_images

SAMPLE = Path(__file__).resolve().parent.parent / "data/sources/fashion-mnist-sample"
HP = {
    "seed": 3,
    "epochs": 2,
    "batch_size": 32,
    "learning_rate": 0.002,
    "filters": [8],
    "convs_per_block": 1,
    "dense_units": 16,
    "dropout": 0.2,
    "patience": 3,
    "augmentation": {"flip": "horizontal", "translate": 0.1},
    "tensorboard": False,
}
# CPU training with TensorFlow's deterministic ops is bit-for-bit repeatable; the stated tolerance leaves room only
# for float formatting, far below any real difference between two runs (which shows up in the 2nd-3rd digit).
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def splits() -> dict:
    parts = split_images(read_image_source(str(SAMPLE), PROBLEM)[0], 0.1, seed=0)
    small = {"train": parts["train"].iloc[::3].reset_index(drop=True), "val": parts["val"], "test": parts["test"]}
    return {**small, "spec": fit_image_spec(small["train"], PROBLEM)}


@pytest.fixture(scope="module")
def trained(splits: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from tasks.training.fit import train_model

    out = tmp_path_factory.mktemp("cnn")
    return out, train_model(splits["train"], splits["val"], splits["spec"], HP, out, PROBLEM.build_model)


def test_same_params_give_the_same_metrics_and_weights(
    splits: dict, trained: tuple[Path, dict], tmp_path: Path
) -> None:
    import keras

    from tasks.training.fit import train_model

    again = train_model(splits["train"], splits["val"], splits["spec"], HP, tmp_path, PROBLEM.build_model)
    first = pd.read_csv(trained[0] / "history.csv")
    second = pd.read_csv(tmp_path / "history.csv")
    np.testing.assert_allclose(second.to_numpy(), first.to_numpy(), rtol=0, atol=TOLERANCE)
    assert again["best_val_accuracy"] == pytest.approx(trained[1]["best_val_accuracy"], abs=TOLERANCE)
    a = keras.models.load_model(trained[0] / "model.keras").get_weights()
    b = keras.models.load_model(tmp_path / "model.keras").get_weights()
    assert all(np.allclose(x, y, rtol=0, atol=TOLERANCE) for x, y in zip(a, b, strict=True))


def test_a_different_seed_gives_a_different_model(splits: dict, trained: tuple[Path, dict], tmp_path: Path) -> None:
    from tasks.training.fit import train_model

    other = train_model(
        splits["train"], splits["val"], splits["spec"], {**HP, "seed": 4}, tmp_path, PROBLEM.build_model
    )
    assert abs(other["best_val_loss"] - trained[1]["best_val_loss"]) > TOLERANCE  # the determinism test can fail


def test_model_takes_raw_uint8_images_and_augments_only_in_training(splits: dict, trained: tuple[Path, dict]) -> None:
    import keras

    from tasks.training.fit import model_inputs

    model = keras.models.load_model(trained[0] / "model.keras")
    images = model_inputs(splits["test"].head(16), splits["spec"])["image"]
    assert images.dtype.name == "uint8" and tuple(images.shape) == (16, 28, 28)
    inference = [model(images, training=False).numpy() for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    np.testing.assert_allclose(inference[0].sum(axis=1), 1.0, atol=1e-5)
    assert model.output.dtype == "float32"
    augmented = model(images, training=True).numpy()
    assert np.abs(augmented - inference[0]).max() > 1e-3  # the augmentation layers are inside the model


def test_savedmodel_serves_raw_images_with_the_keras_probabilities(
    splits: dict, trained: tuple[Path, dict], tmp_path: Path
) -> None:
    import keras
    import tensorflow as tf

    from tasks.kinds.image import IMAGE
    from tasks.training.export import max_reload_difference
    from tasks.training.fit import model_inputs

    model = keras.models.load_model(trained[0] / "model.keras")
    inputs = model_inputs(splits["test"], splits["spec"])
    expected = model.predict(inputs["image"], verbose=0)
    IMAGE.write_savedmodel(model, tmp_path / "savedmodel", splits["spec"])
    assert max_reload_difference(tmp_path / "savedmodel", expected, inputs) <= 1e-5
    served = tf.saved_model.load(str(tmp_path / "savedmodel")).signatures["serving_default"]
    assert served.structured_input_signature[1]["image"].dtype == tf.uint8


def test_mixed_precision_computes_in_float16_and_outputs_float32(splits: dict) -> None:
    """What a GPU worker gets (tasks.training.hardware turns it on with any GPU); runs, slowly, on a CPU too."""
    import keras

    from tasks.training.fit import make_dataset

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = PROBLEM.build_model(splits["spec"], HP)
        assert model.get_layer("conv0_0").compute_dtype == "float16"
        assert model.get_layer("conv0_0").variable_dtype == "float32"
        assert model.output.dtype == "float32"
        history = model.fit(make_dataset(splits["train"].head(64), splits["spec"], 32, 0), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    finally:
        keras.mixed_precision.set_global_policy("float32")

"""train: fit the problem's Keras model on the training split, stopping early on the validation split.

Outputs (data/model/): `model.keras` (best weights, restored by EarlyStopping), `checkpoints/` (ModelCheckpoint
each epoch with an improved val_loss), `history.csv` (CSVLogger) and `train.json` (params, epochs run, best epoch).
The run is seeded (Python, NumPy, TensorFlow) and TensorFlow's ops are made deterministic.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines import load_problem
from tasks.atomic import atomic_dir
from tasks.errors import PipelineError, run_stage
from tasks.params import Params

FEATURES_DIR = Path("data/features")
OUT_DIR = Path("data/model")
log = logging.getLogger(__name__)


def read_split(name: str) -> pd.DataFrame:
    path = FEATURES_DIR / f"{name}.parquet"
    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found; run the featurize stage first") from None


def read_spec() -> dict[str, Any]:
    path = FEATURES_DIR / "spec.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found; run the featurize stage first") from None


def model_inputs(frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    """Raw feature columns as tensors shaped (n, 1), typed as the model's inputs expect.

    Strings go through `tf.constant`: Keras 3 rejects numpy string arrays in `fit`/`predict`.
    """
    import tensorflow as tf

    inputs: dict[str, Any] = {}
    for name in spec["numeric"]:
        inputs[name] = tf.constant(frame[name].to_numpy(dtype="float32").reshape(-1, 1))
    for name, info in spec["categorical"].items():
        if info["dtype"] == "string":
            inputs[name] = tf.constant(frame[name].astype(str).to_numpy().reshape(-1, 1))
        else:
            inputs[name] = tf.constant(frame[name].to_numpy(dtype="int64").reshape(-1, 1))
    return inputs


def make_dataset(frame: pd.DataFrame, spec: dict[str, Any], batch_size: int, shuffle_seed: int | None) -> Any:
    """A tf.data pipeline of (raw features, target): cached, shuffled (training only), batched, prefetched."""
    import tensorflow as tf

    target = frame[spec["target"]].to_numpy(dtype="float32")
    dataset = tf.data.Dataset.from_tensor_slices((model_inputs(frame, spec), target)).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(frame), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
    tf.config.experimental.enable_op_determinism()


def train_model(
    train: pd.DataFrame,
    val: pd.DataFrame,
    spec: dict[str, Any],
    hp: dict[str, Any],
    out_dir: Path,
    build_model: Any,
) -> dict[str, Any]:
    """Fit a model built by `build_model(spec, hp)`; write model, checkpoints and history into `out_dir`."""
    import keras

    seed_everything(int(hp["seed"]))
    model = build_model(spec, hp)
    (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=int(hp["patience"]), restore_best_weights=True, verbose=0
        ),
        keras.callbacks.ModelCheckpoint(
            str(out_dir / "checkpoints" / "best.keras"), monitor="val_loss", save_best_only=True, verbose=0
        ),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv")),
    ]
    history = model.fit(
        make_dataset(train, spec, int(hp["batch_size"]), shuffle_seed=int(hp["seed"])),
        validation_data=make_dataset(val, spec, int(hp["batch_size"]), shuffle_seed=None),
        epochs=int(hp["epochs"]),
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline already shuffles, seeded
        verbose=0,
    )
    model.save(out_dir / "model.keras")
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    return {
        "epochs_run": len(val_loss),
        "best_epoch": best + 1,
        "best_val_loss": float(val_loss[best]),
        "best_val_rmse": float(history.history["val_rmse"][best]),
        "params": hp,
    }


def read_hyperparameters(params: Params) -> dict[str, Any]:
    units = params.get("train.hidden_units", list)
    if not units or not all(isinstance(u, int) and u > 0 for u in units):
        raise PipelineError(f"params.yaml: 'train.hidden_units' must be a list of positive integers, got {units!r}")
    return {
        "seed": params.get("train.seed", int),
        "epochs": params.get("train.epochs", int, minimum=1),
        "batch_size": params.get("train.batch_size", int, minimum=1),
        "learning_rate": params.get("train.learning_rate", float, minimum=1e-8),
        "hidden_units": units,
        "dropout": params.get("train.dropout", float, minimum=0.0, maximum=0.95),
        "patience": params.get("train.patience", int, minimum=1),
    }


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    hp = read_hyperparameters(params)
    spec = read_spec()
    train, val = read_split("train"), read_split("val")
    with atomic_dir(OUT_DIR) as tmp:
        summary = train_model(train, val, spec, hp, tmp, problem.build_model)
        (tmp / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info(
        "trained %d epochs; best epoch %d, val RMSE %.2f",
        summary["epochs_run"],
        summary["best_epoch"],
        summary["best_val_rmse"],
    )


if __name__ == "__main__":
    run_stage("train", main)

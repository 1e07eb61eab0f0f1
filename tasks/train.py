"""train: fit the problem's Keras model on the training split, stopping early on the validation split.

Outputs (data/model/): `model.keras` (the best epoch's weights), `history.csv` (CSVLogger, one row per epoch of the
whole run, resumed parts included), `history.png` (loss and the problem's metric per epoch), `tensorboard/`
(TensorBoard logs) and `train.json` (params, epochs, best epoch, hardware plan, throughput, resume record).
The history and the summary are also copied to `reports/training/` for people to read.

The engine is the same for every problem: a seeded (Python, NumPy, TensorFlow; deterministic ops) `model.fit` on a
tf.data pipeline (cache, shuffle, batch, prefetch), EarlyStopping with its best weights restored, a checkpoint of
the whole model and optimizer every epoch (see tasks.train_state: a killed run resumes where it stopped), CSVLogger
and TensorBoard. tasks.hardware picks the strategy (CPU, one GPU, MirroredStrategy, MultiWorkerMirroredStrategy)
and mixed precision; only the chief writes outputs. Best hyper-parameters of the optional `tune` stage
(data/tuning/best.json) override params.yaml's when tuning is enabled.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines import load_problem
from pipelines.problem import ImageProblem, TabularProblem
from tasks.atomic import atomic_dir
from tasks.errors import PipelineError, run_stage
from tasks.hardware import DistributionPlan, detect_gpus, make_strategy, plan_distribution
from tasks.lineage import sha256_path
from tasks.params import Params
from tasks.train_state import TrainState, load_best_weights, load_state, run_key, save_epoch

FEATURES_DIR = Path("data/features")
OUT_DIR = Path("data/model")
REPORT_DIR = Path("reports/training")
TUNING = Path("data/tuning/best.json")
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

    Strings go through `tf.constant`: Keras 3 rejects numpy string arrays in `fit`/`predict`. For an image spec
    the one input is `image`: uint8 pixels shaped (n, height, width).
    """
    import tensorflow as tf

    if spec.get("kind") == "image":
        from tasks.image_tables import to_arrays

        return {"image": tf.constant(to_arrays(frame, spec["image_shape"])[0])}
    inputs: dict[str, Any] = {}
    for name in spec["numeric"]:
        inputs[name] = tf.constant(frame[name].to_numpy(dtype="float32").reshape(-1, 1))
    for name, info in spec["categorical"].items():
        if info["dtype"] == "string":
            inputs[name] = tf.constant(frame[name].astype(str).to_numpy().reshape(-1, 1))
        else:
            inputs[name] = tf.constant(frame[name].to_numpy(dtype="int64").reshape(-1, 1))
    return inputs


def model_targets(frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """Targets as `fit` takes them: float32 for regression, int32 class indices for classification."""
    dtype = "int32" if spec.get("task") == "classification" else "float32"
    return frame[spec["target"]].to_numpy(dtype=dtype)


def make_dataset(frame: pd.DataFrame, spec: dict[str, Any], batch_size: int, shuffle_seed: int | None) -> Any:
    """A tf.data pipeline of (raw features, target): cached, shuffled (training only, seeded), batched, prefetched."""
    import tensorflow as tf

    inputs = model_inputs(frame, spec)
    if spec.get("kind") == "image":
        inputs = inputs["image"]  # a single-input model takes the tensor itself
    dataset = tf.data.Dataset.from_tensor_slices((inputs, model_targets(frame, spec))).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(frame), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def seed_everything(seed: int, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; with `deterministic_ops`, make TensorFlow's kernels deterministic too."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()


def _callbacks(
    hp: dict[str, Any], state_dir: Path, state: TrainState, best_weights: list[np.ndarray] | None, resumed: bool
) -> list[Any]:
    """EarlyStopping (resumable), CSVLogger, TensorBoard and the per-epoch resume checkpoint, in that order:
    the checkpoint runs last so that the state it writes includes what the others did for the epoch."""
    import keras

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            super().on_train_begin(logs)
            if resumed:  # carry on counting patience from the checkpoint, with its best weights
                self.wait, self.best, self.best_epoch = state.wait, state.best, state.best_epoch
                self.best_weights = best_weights

    early_stopping = ResumableEarlyStopping(
        monitor="val_loss", patience=int(hp["patience"]), restore_best_weights=True, verbose=0
    )

    class EpochCheckpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            state.epoch = epoch + 1
            state.history.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
            improved = early_stopping.best_epoch == epoch and early_stopping.best_weights is not None
            state.best = None if early_stopping.best is None else float(early_stopping.best)
            state.best_epoch, state.wait = int(early_stopping.best_epoch), int(early_stopping.wait)
            save_epoch(state_dir, state, self.model, early_stopping.best_weights if improved else None)

    callbacks = [early_stopping, keras.callbacks.CSVLogger(str(state_dir / "history.csv"), append=True)]
    if hp.get("tensorboard", True):
        callbacks.append(keras.callbacks.TensorBoard(str(state_dir / "tensorboard"), write_graph=False))
    callbacks.append(EpochCheckpoint())
    return callbacks


def _restore_history_csv(state_dir: Path, state: TrainState) -> None:
    """history.csv exactly as the checkpointed epochs: a kill between CSVLogger's row and the checkpoint would
    otherwise leave a row for an epoch that is run again."""
    path = state_dir / "history.csv"
    if state.history:
        pd.DataFrame(state.history).to_csv(path, index=False)
    else:
        path.unlink(missing_ok=True)


def train_model(
    train: pd.DataFrame,
    val: pd.DataFrame,
    spec: dict[str, Any],
    hp: dict[str, Any],
    out_dir: Path,
    build_model: Any,
    *,
    state_dir: Path | None = None,
    plan: DistributionPlan | None = None,
    strategy: Any = None,
) -> dict[str, Any]:
    """Fit a model built by `build_model(spec, hp)` (or resume it from `state_dir`); write the outputs into
    `out_dir` and return the training summary.

    `state_dir` holds the per-epoch checkpoints (see tasks.train_state); a complete run removes it. Without one a
    scratch folder inside `out_dir` is used and removed. `plan`/`strategy` default to the CPU/default strategy.
    """
    import keras
    import tensorflow as tf

    plan = plan or DistributionPlan(strategy="default", gpus=0, mixed_precision=False)
    strategy = strategy or tf.distribute.get_strategy()
    state_dir = state_dir or out_dir / ".state"
    state_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(int(hp["seed"]), deterministic_ops=plan.deterministic_ops)

    state = load_state(state_dir)
    resumed = state is not None
    best_weights = load_best_weights(state_dir, state) if state else None
    with strategy.scope():
        if state is not None:
            model = keras.models.load_model(state_dir / state.model_file)
            state.resumed_from.append(state.epoch)
            _restore_history_csv(state_dir, state)
            log.info("resuming from the checkpoint of epoch %d in %s", state.epoch, state_dir)
        else:
            state = TrainState()
            (state_dir / "history.csv").unlink(missing_ok=True)
            model = build_model(spec, hp)
    iterations_at_start = int(model.optimizer.iterations.numpy())
    initial_epoch = state.epoch
    stopped_early_already = resumed and state.wait >= int(hp["patience"])
    epochs = initial_epoch if stopped_early_already else int(hp["epochs"])

    batch_size = int(hp["batch_size"])
    started = time.perf_counter()
    model.fit(
        make_dataset(train, spec, batch_size, shuffle_seed=int(hp["seed"])),
        validation_data=make_dataset(val, spec, batch_size, shuffle_seed=None),
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=_callbacks(hp, state_dir, state, best_weights, resumed),
        shuffle=False,  # the tf.data pipeline already shuffles, seeded
        verbose=0,
    )
    fit_seconds = time.perf_counter() - started
    if not state.history:
        raise PipelineError(f"{state_dir}: no epoch was trained; delete the folder to start afresh")

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.keras")  # EarlyStopping restored the best epoch's weights at the end of fit
    history = pd.DataFrame(state.history)
    history.to_csv(out_dir / "history.csv", index=False)
    if (state_dir / "tensorboard").is_dir():
        shutil.copytree(state_dir / "tensorboard", out_dir / "tensorboard", dirs_exist_ok=True)
    epochs_this_run = state.epoch - initial_epoch
    best = int(history["val_loss"].idxmin())
    summary = {
        "epochs_run": int(state.epoch),
        "best_epoch": int(history.loc[best, "epoch"]) + 1,
        "best_val_loss": float(history.loc[best, "val_loss"]),
        **{
            f"best_{k}": float(history.loc[best, k])
            for k in history.columns
            if k.startswith("val_") and k != "val_loss"
        },
        "resumed_from_epochs": list(state.resumed_from),
        "initial_epoch": int(initial_epoch),
        "optimizer_iterations_at_start": iterations_at_start,
        "epochs_this_run": int(epochs_this_run),
        "fit_seconds": round(fit_seconds, 3),
        "samples_per_second": round(len(train) * epochs_this_run / fit_seconds, 1) if epochs_this_run else None,
        "hardware": {
            **plan.__dict__,
            "policy": plan.policy,
            "deterministic_ops": plan.deterministic_ops,
            "replicas": int(strategy.num_replicas_in_sync),
        },
        "params": hp,
    }
    shutil.rmtree(state_dir, ignore_errors=True)  # the run is complete: nothing left to resume
    return summary


def plot_history(history: pd.DataFrame, metric: str, target: Path) -> None:
    """Loss and `metric` per epoch, training beside validation, as a PNG the reports can link."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, name in zip(axes, ("loss", metric), strict=True):
        for column, label in ((name, "train"), (f"val_{name}", "validation")):
            if column in history:
                ax.plot(history["epoch"] + 1, history[column], marker=".", label=label)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)


def _positive_ints(params: Params, key: str) -> list[int]:
    values = params.get(key, list)
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise PipelineError(f"{params.source}: '{key}' must be a list of positive integers, got {values!r}")
    return values


def read_hyperparameters(params: Params, problem: TabularProblem | ImageProblem | None = None) -> dict[str, Any]:
    """The `train` section, checked; the model-specific keys depend on the problem's kind."""
    hp: dict[str, Any] = {
        "seed": params.get("train.seed", int),
        "epochs": params.get("train.epochs", int, minimum=1),
        "batch_size": params.get("train.batch_size", int, minimum=1),
        "learning_rate": params.get("train.learning_rate", float, minimum=1e-8),
        "dropout": params.get("train.dropout", float, minimum=0.0, maximum=0.95),
        "patience": params.get("train.patience", int, minimum=1),
    }
    if problem is not None and problem.kind == "image":
        augmentation = params.get("train.augmentation", dict, {})
        unknown = set(augmentation) - {"flip", "translate", "rotate", "zoom"}
        if unknown:
            raise PipelineError(f"{params.source}: 'train.augmentation' has unknown keys {sorted(unknown)}")
        hp.update(
            filters=_positive_ints(params, "train.filters"),
            convs_per_block=params.get("train.convs_per_block", int, 1, minimum=1),
            dense_units=params.get("train.dense_units", int, minimum=1),
            augmentation=augmentation,
        )
    else:
        hp["hidden_units"] = _positive_ints(params, "train.hidden_units")
    return hp


def apply_tuning(hp: dict[str, Any], tuning: dict[str, Any] | None, problem: str) -> dict[str, Any]:
    """`hp` with the tune stage's best trial applied, when tuning ran (enabled) for this problem."""
    if not tuning or not tuning.get("enabled") or tuning.get("problem") != problem:
        return hp
    return {**hp, **tuning["best_params"]}


def feature_digests() -> dict[str, str]:
    return {p.name: sha256_path(p) for p in sorted(FEATURES_DIR.glob("*")) if p.is_file()}


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    tuning = json.loads(TUNING.read_text()) if TUNING.is_file() else None
    hp = apply_tuning(read_hyperparameters(params, problem), tuning, problem.name)
    hp["tensorboard"] = params.get("train.tensorboard", bool, True)
    precision = params.get("train.mixed_precision", str, "auto")
    state_root = Path(params.get("train.state_dir", str, "data/train_state"))
    spec = read_spec()
    train, val = read_split("train"), read_split("val")

    plan = plan_distribution(detect_gpus(), os.environ.get("TF_CONFIG"), precision)
    strategy = make_strategy(plan)  # before any other TensorFlow work: MultiWorkerMirroredStrategy requires it
    key = run_key(problem.name, hp, feature_digests(), {"strategy": plan.strategy, "policy": plan.policy})
    log.info(
        "plan: %s strategy, %d GPU(s), %s, %s; run key %s",
        plan.strategy,
        plan.gpus,
        plan.policy,
        "chief" if plan.is_chief else f"{plan.task_type} {plan.task_index} (writes no outputs)",
        key,
    )
    metric = "accuracy" if problem.task == "classification" else "rmse"
    if not plan.is_chief:
        # Every worker runs the same collective steps; only the chief keeps what they write.
        with tempfile.TemporaryDirectory() as scratch:
            state_dir = state_root / f"{key}-{plan.task_type}-{plan.task_index}"
            train_model(
                train,
                val,
                spec,
                hp,
                Path(scratch),
                problem.build_model,
                state_dir=state_dir,
                plan=plan,
                strategy=strategy,
            )
        return
    with atomic_dir(OUT_DIR) as tmp:
        summary = train_model(
            train, val, spec, hp, tmp, problem.build_model, state_dir=state_root / key, plan=plan, strategy=strategy
        )
        summary["tuning"] = tuning if tuning and tuning.get("enabled") else None
        plot_history(pd.read_csv(tmp / "history.csv"), metric, tmp / "history.png")
        (tmp / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
    with atomic_dir(REPORT_DIR) as report:
        for name in ("history.csv", "history.png", "train.json"):
            shutil.copy2(OUT_DIR / name, report / name)
    log.info(
        "trained %d epochs (%d in this run); best epoch %d, val loss %.4f, val %s %.4f; %.0f samples/s",
        summary["epochs_run"],
        summary["epochs_this_run"],
        summary["best_epoch"],
        summary["best_val_loss"],
        metric,
        summary.get(f"best_val_{metric}", float("nan")),
        summary["samples_per_second"] or 0.0,
    )


if __name__ == "__main__":
    run_stage("train", main)

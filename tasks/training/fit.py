"""The training engine every problem shares: a seeded `model.fit` on a tf.data pipeline, resumable.

A seeded (Python, NumPy, TensorFlow; deterministic ops) `model.fit` on a tf.data pipeline (cache, shuffle, batch,
prefetch), EarlyStopping with its best weights restored, a checkpoint of the whole model and optimizer every epoch
(see tasks.training.train_state: a killed run resumes where it stopped), CSVLogger and TensorBoard. The kind of data
turns a
split into the model's inputs (tasks/kinds/), the objective gives the targets (tasks/objectives/). Used by the
train and tune stages.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.core.progress import epoch_progress
from tasks.core.reproducible import normalize_keras_archive
from tasks.kinds import KINDS
from tasks.objectives import objective_for
from tasks.training.hardware import DistributionPlan, make_strategy
from tasks.training.random_state import load_seed_states, restore_seed_states
from tasks.training.train_state import TrainState, load_best_weights, load_state, save_epoch

log = logging.getLogger(__name__)


def model_inputs(frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    """The model's inputs for `frame`, by input name, as the kind of the spec makes them."""
    return KINDS[spec["kind"]].model_inputs(frame, spec)


def as_model_input(inputs: dict[str, Any]) -> Any:
    """What `fit`/`predict` take: the tensor itself for a single-input model, else the dict by input name."""
    return next(iter(inputs.values())) if len(inputs) == 1 else inputs


def model_targets(frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """Targets as `fit` takes them: float32 for regression, int32 class indices for classification."""
    return objective_for(spec).targets(frame, spec)


def make_dataset(frame: pd.DataFrame, spec: dict[str, Any], batch_size: int, shuffle_seed: int | None) -> Any:
    """A tf.data pipeline of (raw features, target): cached, shuffled (seeded, reshuffled each pass), batched,
    prefetched. For evaluation and one-off fits; `fit` in `train_model` uses `epoch_datasets`, whose order does not
    depend on how many passes came before."""
    import tensorflow as tf

    inputs = as_model_input(model_inputs(frame, spec))
    dataset = tf.data.Dataset.from_tensor_slices((inputs, model_targets(frame, spec))).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(frame), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_datasets(
    frame: pd.DataFrame, spec: dict[str, Any], batch_size: int, seed: int, first_epoch: int, epochs: int
) -> tuple[Any, int]:
    """(dataset, steps per epoch): the batches of epochs `first_epoch`..`epochs - 1` back to back, each epoch's
    rows shuffled with a seed made of `seed` and the epoch number alone. A run resumed at epoch k therefore sees
    exactly the batches the unbroken run saw from epoch k on (tf.data's reshuffle_each_iteration would restart its
    sequence of orders at the first one). `fit` takes it with `steps_per_epoch`, keeping one iterator throughout."""
    import tensorflow as tf

    inputs = as_model_input(model_inputs(frame, spec))
    rows = tf.data.Dataset.from_tensor_slices((inputs, model_targets(frame, spec))).cache()

    def one_epoch(epoch: Any) -> Any:
        epoch_seed = tf.constant(seed, tf.int64) * 1_000_003 + epoch
        return rows.shuffle(len(frame), seed=epoch_seed, reshuffle_each_iteration=False).batch(batch_size)

    dataset = tf.data.Dataset.range(first_epoch, max(first_epoch, epochs)).flat_map(one_epoch)
    return dataset.prefetch(tf.data.AUTOTUNE), -(-len(frame) // batch_size)


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


def _restore_random_state(model: Any, state_dir: Path, state: TrainState) -> None:
    """The model's random generators as they were at the checkpoint (dropout, augmentation), so the resumed
    epochs draw what the unbroken run drew."""
    if not state.rng_file:
        log.warning("%s: the checkpoint holds no random state (older format); the resumed run may differ", state_dir)
        return
    uncovered = restore_seed_states(model, load_seed_states(state_dir / state.rng_file))
    if uncovered:
        raise PipelineError(f"{state_dir / state.rng_file}: no saved state for the random generators {uncovered}")


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
    tensorboard_dir: Path | None = None,
) -> dict[str, Any]:
    """Fit a model built by `build_model(spec, hp)` (or resume it from `state_dir`); write the outputs into
    `out_dir` and return the training summary.

    `state_dir` holds the per-epoch checkpoints (see tasks.training.train_state); a complete run removes it. Without
    one a
    scratch folder inside `out_dir` is used and removed. `plan`/`strategy` default to the CPU/default strategy.
    """
    import keras

    plan = plan or DistributionPlan(strategy="default", gpus=0, mixed_precision=False)
    # without a strategy from the caller, the plan's: this also sets Keras' global precision policy to the plan's,
    # so a run never inherits the policy whatever ran before in this process left behind
    strategy = strategy or make_strategy(plan)
    state_dir = state_dir or out_dir / ".state"
    state_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(int(hp["seed"]), deterministic_ops=plan.deterministic_ops)

    state = load_state(state_dir)
    resumed = state is not None
    best_weights = load_best_weights(state_dir, state) if state else None
    with strategy.scope():
        if state is not None:
            model = keras.models.load_model(state_dir / state.model_file)
            _restore_random_state(model, state_dir, state)
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
    batches, steps_per_epoch = epoch_datasets(train, spec, batch_size, int(hp["seed"]), initial_epoch, epochs)
    started = time.perf_counter()
    model.fit(
        batches,
        steps_per_epoch=steps_per_epoch,
        validation_data=make_dataset(val, spec, batch_size, shuffle_seed=None),
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=[*_callbacks(hp, state_dir, state, best_weights, resumed), epoch_progress(epochs, initial_epoch)],
        shuffle=False,  # the tf.data pipeline already shuffles, seeded
        verbose=0,
    )
    fit_seconds = time.perf_counter() - started
    if not state.history:
        raise PipelineError(f"{state_dir}: no epoch was trained; delete the folder to start afresh")

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.keras")  # EarlyStopping restored the best epoch's weights at the end of fit
    normalize_keras_archive(out_dir / "model.keras")  # no save time or memory addresses: same weights, same bytes
    history = pd.DataFrame(state.history)
    history.to_csv(out_dir / "history.csv", index=False)
    if (state_dir / "tensorboard").is_dir():  # event files name the host and hold wall times: keep them apart
        tensorboard_dir = tensorboard_dir or out_dir / "tensorboard"
        shutil.rmtree(tensorboard_dir, ignore_errors=True)
        shutil.copytree(state_dir / "tensorboard", tensorboard_dir)
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
        # wall-clock figures: the train stage moves them to data/runs/train.json, outside DVC's outs
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


# Model hyper-parameters a kind may use (its `param_keys["train"]` says which), each checked the same way.
AUGMENTATIONS = frozenset({"flip", "translate", "rotate", "zoom"})


def _model_hyperparameter(params: Params, key: str) -> Any:
    dotted = f"train.{key}"
    if key in ("hidden_units", "filters"):
        return _positive_ints(params, dotted)
    if key == "convs_per_block":
        return params.get(dotted, int, 1, minimum=1)
    if key == "dense_units":
        return params.get(dotted, int, minimum=1)
    if key == "augmentation":
        augmentation = params.get(dotted, dict, {})
        unknown = set(augmentation) - AUGMENTATIONS
        if unknown:
            raise PipelineError(f"{params.source}: '{dotted}' has unknown keys {sorted(unknown)}")
        return augmentation
    return params.raw(dotted)


def read_hyperparameters(params: Params, problem: Any = None) -> dict[str, Any]:
    """The `train` section, checked: the keys every model takes, then those of the problem's kind."""
    hp: dict[str, Any] = {
        "seed": params.get("train.seed", int),
        "epochs": params.get("train.epochs", int, minimum=1),
        "batch_size": params.get("train.batch_size", int, minimum=1),
        "learning_rate": params.get("train.learning_rate", float, minimum=1e-8),
        "dropout": params.get("train.dropout", float, minimum=0.0, maximum=0.95),
        "patience": params.get("train.patience", int, minimum=1),
    }
    model_keys = KINDS[problem.kind].param_keys["train"] if problem is not None else frozenset({"hidden_units"})
    for key in sorted(model_keys):
        hp[key] = _model_hyperparameter(params, key)
    return hp


def apply_tuning(hp: dict[str, Any], tuning: dict[str, Any] | None, problem: str) -> dict[str, Any]:
    """`hp` with the tune stage's best trial applied, when tuning ran (enabled) for this problem."""
    if not tuning or not tuning.get("enabled") or tuning.get("problem") != problem:
        return hp
    return {**hp, **tuning["best_params"]}

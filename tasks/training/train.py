"""train: fit the problem's Keras model on the training split, stopping early on the validation split.

Outputs (data/model/): `model.keras` (the best epoch's weights), `history.csv` (CSVLogger, one row per epoch of the
whole run, resumed parts included), `history.png` (loss and the problem's metric per epoch) and `train.json`
(params, epochs, best epoch, hardware plan, resume record). Wall-clock figures (fit seconds, samples/s) go to
`data/runs/train.json` and TensorBoard logs to `data/tensorboard/`, both outside DVC's outs, so that the outs are
byte-reproducible (tasks/core/reproducible.py).
The history and the summary are also copied to `reports/training/` for people to read.

The engine (tasks/training/fit.py) is the same for every problem and kind: a seeded (Python, NumPy, TensorFlow;
deterministic ops) `model.fit` on a tf.data pipeline (cache, shuffle, batch, prefetch), EarlyStopping with its best
weights restored, a checkpoint of the whole model and optimizer every epoch (see tasks.training.train_state: a killed
run
resumes where it stopped), CSVLogger and TensorBoard. tasks.training.hardware picks the strategy (CPU, one GPU,
MirroredStrategy, MultiWorkerMirroredStrategy) and mixed precision; only the chief writes outputs. Best
hyper-parameters of the optional `tune` stage (data/tuning/best.json) override params.yaml's when tuning is enabled.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from tasks.core.artifacts import FEATURES_DIR, MODEL_DIR, TRAINING_REPORT_DIR, TUNING, read_spec, read_split
from tasks.core.atomic import atomic_dir
from tasks.core.errors import run_stage
from tasks.core.lineage import sha256_path
from tasks.core.reproducible import record_run
from tasks.kinds.selection import select
from tasks.objectives import objective_for
from tasks.training.fit import apply_tuning, plot_history, read_hyperparameters, train_model
from tasks.training.hardware import detect_gpus, make_strategy, plan_distribution
from tasks.training.train_state import run_key

OUT_DIR = MODEL_DIR
REPORT_DIR = TRAINING_REPORT_DIR
# `tensorboard --logdir data/tensorboard`: event files hold wall times and the host, so not inside a DVC out
TENSORBOARD_DIR = Path("data/tensorboard")
log = logging.getLogger(__name__)


def feature_digests() -> dict[str, str]:
    return {p.name: sha256_path(p) for p in sorted(FEATURES_DIR.glob("*")) if p.is_file()}


def main() -> None:
    selection = select()
    params, problem = selection.params, selection.problem
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
    metric = "rmse" if objective_for(spec).task == "regression" else "accuracy"
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
            train,
            val,
            spec,
            hp,
            tmp,
            problem.build_model,
            state_dir=state_root / key,
            plan=plan,
            strategy=strategy,
            tensorboard_dir=TENSORBOARD_DIR,
        )
        summary["tuning"] = tuning if tuning and tuning.get("enabled") else None
        timing = {k: summary.pop(k) for k in ("fit_seconds", "samples_per_second")}  # not in a DVC out
        plot_history(pd.read_csv(tmp / "history.csv"), metric, tmp / "history.png")
        (tmp / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
    record_run("train", {**timing, "epochs_this_run": summary["epochs_this_run"], "tensorboard": str(TENSORBOARD_DIR)})
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
        timing["samples_per_second"] or 0.0,
    )


if __name__ == "__main__":
    run_stage("train", main)

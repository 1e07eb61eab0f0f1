"""tune: an optional hyper-parameter search (Optuna, TPE sampler) over the `train` section; the next training
uses the best trial.

The search space lives in params.yaml (`tune.space`; per problem in pipelines/<problem>/params.yaml): each key
is a `train.*` key, given as `{low, high}` (floats; `log: true` for a log scale; two integers search integers) or
`{choices: [...]}`. Each trial trains `tune.epochs` epochs (EarlyStopping with train.patience) on the train split
and is scored by its best validation loss; the test split is never looked at.

Output: data/tuning/best.json, `{"enabled": false}` when `tune.enabled` is false (the stage then costs about a
second and imports no TensorFlow), else the best trial's params and score and every trial. The train stage applies
`best_params` over params.yaml's `train` section. Experiments: `dvc exp run -S tune.enabled=true`.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from tasks.core.artifacts import TUNING_DIR, read_spec, read_split
from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError, run_stage
from tasks.core.params import Params
from tasks.core.progress import step_line
from tasks.kinds.selection import select

OUT_DIR = TUNING_DIR
log = logging.getLogger(__name__)


def read_space(params: Params, hp: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`tune.space`, checked: every key a train hyper-parameter, every entry a range or a list of choices."""
    space = params.get("tune.space", dict)
    if not space:
        raise PipelineError(f"{params.source}: 'tune.space' is empty; name at least one train.* key to search")
    for key, entry in space.items():
        where = f"{params.source}: 'tune.space.{key}'"
        if key not in hp or key in ("seed", "epochs"):
            raise PipelineError(
                f"{where}: not a searchable train.* key; expected one of {sorted(set(hp) - {'seed', 'epochs'})}"
            )
        if not isinstance(entry, dict):
            raise PipelineError(f"{where}: expected {{low, high}} or {{choices: [...]}}, got {entry!r}")
        if "choices" in entry:
            if not isinstance(entry["choices"], list) or not entry["choices"]:
                raise PipelineError(f"{where}: 'choices' must be a non-empty list")
        elif not {"low", "high"} <= set(entry) or not entry["low"] < entry["high"]:
            raise PipelineError(f"{where}: expected numbers low < high, got {entry!r}")
    return space


def suggest(trial: Any, key: str, entry: dict[str, Any]) -> Any:
    """One value for `key` from `trial`. Choices that are not plain scalars (e.g. filter lists) are chosen by index."""
    if "choices" in entry:
        choices = entry["choices"]
        if all(isinstance(c, str | int | float | bool) or c is None for c in choices):
            return trial.suggest_categorical(key, choices)
        return choices[trial.suggest_categorical(f"{key}_index", list(range(len(choices))))]
    low, high, log_scale = entry["low"], entry["high"], bool(entry.get("log", False))
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
        return trial.suggest_int(key, low, high, log=log_scale)
    return trial.suggest_float(key, float(low), float(high), log=log_scale)


def search(
    objective_hp: dict[str, Any], space: dict[str, dict[str, Any]], trials: int, seed: int, score: Any
) -> dict[str, Any]:
    """Run `trials` TPE trials; `score(hp)` trains with `hp` and returns (validation loss, extra numbers)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    records: list[dict[str, Any]] = []

    started = time.perf_counter()

    def objective(trial: Any) -> float:
        chosen = {key: suggest(trial, key, entry) for key, entry in space.items()}
        trial_started = time.perf_counter()
        value, extra = score({**objective_hp, **chosen})
        records.append({"trial": trial.number, "params": chosen, "val_loss": value, **extra})
        now = time.perf_counter()
        facts = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in chosen.items())
        best = min(r["val_loss"] for r in records)
        line = step_line(
            "trial",
            len(records),
            trials,
            f"{facts}: val_loss {value:.4g} (best {best:.4g})",
            now - trial_started,
            now - started,
            "about ",
        )
        log.info("%s", line)
        return value

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    best = records[study.best_trial.number]
    return {"best_params": best["params"], "best_score": best["val_loss"], "metric": "val_loss", "trials": records}


def main() -> None:
    selection = select()
    params, problem = selection.params, selection.problem
    if not params.get("tune.enabled", bool, False):
        with atomic_dir(OUT_DIR) as tmp:
            (tmp / "best.json").write_text(json.dumps({"enabled": False}) + "\n")
        log.info("tuning disabled (tune.enabled: false); train uses params.yaml as it is")
        return

    from tasks.training.fit import read_hyperparameters, train_model
    from tasks.training.hardware import detect_gpus, make_strategy, plan_distribution

    hp = read_hyperparameters(params, problem)
    space = read_space(params, hp)
    trials = params.get("tune.trials", int, minimum=1)
    hp = {**hp, "epochs": params.get("tune.epochs", int, minimum=1), "tensorboard": False}
    spec = read_spec()
    train, val = read_split("train"), read_split("val")
    # One machine, its local GPUs (a search is many small runs: TF_CONFIG clusters are for the train stage).
    plan = plan_distribution(detect_gpus(), None, params.get("train.mixed_precision", str, "auto"))
    strategy = make_strategy(plan)

    def score(trial_hp: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        with tempfile.TemporaryDirectory() as scratch:
            summary = train_model(
                train, val, spec, trial_hp, Path(scratch), problem.build_model, plan=plan, strategy=strategy
            )
        extra = {k: v for k, v in summary.items() if k.startswith("best_val_") and k != "best_val_loss"}
        return summary["best_val_loss"], {**extra, "epochs_run": summary["epochs_run"]}

    result = search(hp, space, trials, params.get("tune.seed", int, 0), score)
    record = {"enabled": True, "problem": problem.name, "trial_epochs": hp["epochs"], **result}
    with atomic_dir(OUT_DIR) as tmp:
        (tmp / "best.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info("best of %d trials: %s (val_loss %.4f)", trials, result["best_params"], result["best_score"])


if __name__ == "__main__":
    run_stage("tune", main)

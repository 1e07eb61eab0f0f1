"""The tune stage's search space, search and hand-over to train, with a cheap stand-in for training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.training.fit import apply_tuning
from tasks.training.tune import read_space, search

HP = {"seed": 1, "epochs": 2, "learning_rate": 0.001, "dropout": 0.1, "batch_size": 32, "filters": [8]}
SPACE = {
    "learning_rate": {"low": 1e-4, "high": 1e-1, "log": True},
    "batch_size": {"choices": [16, 32, 64]},
    "filters": {"choices": [[8], [16, 32]]},
}


def bowl(hp: dict) -> tuple[float, dict]:
    """A known optimum: learning_rate near 0.01, batch_size 64, two conv blocks."""
    import math

    loss = (math.log10(hp["learning_rate"]) + 2) ** 2 + (hp["batch_size"] != 64) + (len(hp["filters"]) != 2)
    return loss, {"best_val_accuracy": 1 / (1 + loss)}


def test_search_finds_the_optimum_region_and_records_every_trial() -> None:
    result = search(HP, SPACE, trials=30, seed=0, score=bowl)
    assert len(result["trials"]) == 30
    assert result["best_params"]["batch_size"] == 64 and result["best_params"]["filters"] == [16, 32]
    assert abs(result["best_params"]["learning_rate"] - 0.01) < 0.008
    assert result["best_score"] == min(t["val_loss"] for t in result["trials"])


def test_same_seed_gives_the_same_trials() -> None:
    first = search(HP, SPACE, trials=6, seed=3, score=bowl)
    again = search(HP, SPACE, trials=6, seed=3, score=bowl)
    assert [t["params"] for t in first["trials"]] == [t["params"] for t in again["trials"]]


def test_space_keys_must_be_train_hyperparameters() -> None:
    with pytest.raises(PipelineError, match=r"'tune.space.momentum': not a searchable train.\* key"):
        read_space(Params({"tune": {"space": {"momentum": {"low": 0.1, "high": 0.9}}}}), HP)
    with pytest.raises(PipelineError, match=r"'tune.space.dropout': expected numbers low < high"):
        read_space(Params({"tune": {"space": {"dropout": {"low": 0.5, "high": 0.1}}}}), HP)
    with pytest.raises(PipelineError, match=r"'tune.space.epochs': not a searchable"):
        read_space(Params({"tune": {"space": {"epochs": {"choices": [1, 2]}}}}), HP)


def test_train_uses_the_best_trial_only_when_tuning_ran_for_this_problem() -> None:
    tuning = {"enabled": True, "problem": "fashion_mnist", "best_params": {"learning_rate": 0.005}}
    assert apply_tuning(HP, tuning, "fashion_mnist")["learning_rate"] == 0.005
    assert apply_tuning(HP, tuning, "bike_demand")["learning_rate"] == 0.001
    assert apply_tuning(HP, {"enabled": False}, "fashion_mnist") == HP
    assert apply_tuning(HP, None, "fashion_mnist") == HP


def test_tune_stage_records_the_best_trial_and_train_uses_it(tmp_path: Path) -> None:
    """The stages themselves, as `dvc exp run -S tune.enabled=true` runs them: tune, then train."""
    import json
    import os
    import subprocess
    import sys

    import yaml

    from tests.image_workspace import REPO, make_workspace

    workspace = make_workspace(tmp_path, {"epochs": 1, "filters": [8], "dense_units": 16}, every_nth_image=4)
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["tune"].update(enabled=True, trials=2, epochs=1)
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    for stage in ("tune", "train"):
        done = subprocess.run(
            [sys.executable, "-m", f"tasks.training.{stage}"],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    best = json.loads((workspace / "data/tuning/best.json").read_text())
    assert best["enabled"] and best["problem"] == "fashion_mnist" and len(best["trials"]) == 2
    # the problem's own space only: nothing of bike_demand's (batch_size) is inherited
    assert set(best["best_params"]) == {"learning_rate", "dropout", "dense_units"}
    assert best["best_score"] == min(t["val_loss"] for t in best["trials"])
    trained = json.loads((workspace / "data/model/train.json").read_text())
    assert {k: trained["params"][k] for k in best["best_params"]} == best["best_params"]
    assert trained["tuning"]["best_score"] == best["best_score"]

"""A training run killed with SIGKILL mid-run resumes from its last checkpoint: epoch counter, optimizer state,
EarlyStopping state and history; not from scratch. A real process, a real kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tasks.training.train_state import run_key
from tests.image_workspace import make_workspace, start_training
from tests.processes import finish, kill_tree

EPOCHS, BATCH = 5, 32
TRAIN = {
    "epochs": EPOCHS,
    "batch_size": BATCH,
    "patience": 50,  # never stops early here: the test counts every epoch
    "filters": [8, 16],
    "dense_units": 32,
    "tensorboard": True,
}


def wait_for_first_checkpoint(process: subprocess.Popen[str], state_root: Path, timeout_s: float = 300) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = list(state_root.glob("*/state.json"))
        if found:
            return found[0]
        if process.poll() is not None:
            pytest.fail(f"training ended before its first checkpoint:\n{process.stdout.read()}")
        time.sleep(0.01)
    kill_tree(process)
    pytest.fail("no checkpoint appeared")


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, TRAIN)
    state_root = workspace / "data/train_state"

    first = start_training(workspace)
    try:
        state_file = wait_for_first_checkpoint(first, state_root)
    except BaseException:
        kill_tree(first)
        raise
    os.kill(first.pid, signal.SIGKILL)  # no clean-up handlers run, exactly like a lost machine
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert not (workspace / "data/model").exists()  # nothing half-written where DVC looks

    state = json.loads(state_file.read_text())
    killed_after = state["epoch"]
    assert 1 <= killed_after < EPOCHS, "the kill must land before the run could finish"
    assert (state_file.parent / state["model_file"]).is_file()

    second = start_training(workspace)
    output = finish(second, timeout_s=600)
    assert second.returncode == 0, output
    assert f"resuming from the checkpoint of epoch {killed_after}" in output

    summary = json.loads((workspace / "data/model/train.json").read_text())
    assert summary["resumed_from_epochs"] == [killed_after]
    assert summary["initial_epoch"] == killed_after
    assert summary["epochs_this_run"] == EPOCHS - killed_after
    assert summary["epochs_run"] == EPOCHS
    # The optimizer came back with its state: Adam's step counter is where the killed run left it.
    steps_per_epoch = -(-1440 // BATCH)  # 1,440 training images of the sample, last batch partial
    assert summary["optimizer_iterations_at_start"] == killed_after * steps_per_epoch
    history = pd.read_csv(workspace / "data/model/history.csv")
    assert history["epoch"].tolist() == list(range(EPOCHS))  # every epoch once: none lost, none repeated
    assert not state_file.parent.exists()  # a finished run leaves no state to resume


def test_a_changed_config_or_data_never_resumes_a_stale_run() -> None:
    hp = {"seed": 1, "epochs": 5, "learning_rate": 0.001}
    data = {"train.parquet": "aa", "spec.json": "bb"}
    plan = {"strategy": "default", "policy": "float32"}
    key = run_key("fashion_mnist", hp, data, plan)
    assert key == run_key("fashion_mnist", dict(reversed(hp.items())), data, plan)
    assert key != run_key("fashion_mnist", {**hp, "learning_rate": 0.002}, data, plan)
    assert key != run_key("fashion_mnist", hp, {**data, "train.parquet": "ab"}, plan)
    assert key != run_key("fashion_mnist", hp, data, {**plan, "policy": "mixed_float16"})
    assert key != run_key("bike_demand", hp, data, plan)

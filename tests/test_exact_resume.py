"""A training run killed with SIGKILL at any epoch and resumed (twice here) ends with exactly the weights and the
per-epoch metrics of a run that was never interrupted: the data order, dropout's random state and the optimizer
all continue where they stopped. Real processes of the train stage on the bike problem, real kills, on the CPU."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.kinds.table_checks import feature_view
from tasks.kinds.table_source import select_before
from tasks.kinds.table_split import fit_feature_spec, split_by_time
from tests.image_workspace import start_training
from tests.workspace_params import copy_params, set_params

EPOCHS = 6
TRAIN = {
    "train.epochs": EPOCHS,
    "train.batch_size": 16,  # many steps per epoch: the kill lands inside the run, not after it
    "train.patience": 50,  # never stops early: every epoch runs
    "train.hidden_units": [32, 16],
    "train.dropout": 0.3,  # dropout draws random numbers every step: its state must be carried
    "train.tensorboard": False,
}


def make_bike_workspace(root: Path, bike_source: pd.DataFrame) -> Path:
    root.mkdir()
    copy_params(root, "bike_demand")
    set_params(root, TRAIN)
    view = feature_view(select_before(bike_source, PROBLEM, pd.Timestamp("2011-03-01")), PROBLEM)
    parts = split_by_time(view, "timestamp", 0.2, 0.1)
    features = root / "data/features"
    features.mkdir(parents=True)
    for name, part in parts.items():
        part.to_parquet(features / f"{name}.parquet", index=False)
    (features / "spec.json").write_text(json.dumps(fit_feature_spec(parts["train"], PROBLEM)))
    return root


def checkpointed_epoch(state_root: Path) -> int:
    for state_file in state_root.glob("*/state.json"):
        try:
            return int(json.loads(state_file.read_text())["epoch"])
        except (OSError, ValueError, KeyError):
            return 0  # replaced while read: the next poll sees it
    return 0


def kill_after_epoch(workspace: Path, epoch: int) -> int:
    """Start the train stage, SIGKILL it as soon as a checkpoint of `epoch` or later exists; the epoch killed at."""
    process = start_training(workspace)
    deadline = time.monotonic() + 300
    while (done := checkpointed_epoch(workspace / "data/train_state")) < epoch:
        if process.poll() is not None:
            pytest.fail(f"training ended before epoch {epoch}:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint of epoch {epoch} appeared")
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)  # no clean-up handlers run, exactly like a lost machine
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return checkpointed_epoch(workspace / "data/train_state") or done


def train_to_the_end(workspace: Path) -> str:
    process = start_training(workspace)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    return output


def final_weights(workspace: Path) -> list[np.ndarray]:
    import keras

    return keras.models.load_model(workspace / "data/model/model.keras").get_weights()


# Exhaustive: tests/test_train_resume.py kills and resumes once in the default suite; twice, compared with an
# unbroken run byte for byte, runs in `make test-all`.
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_run_killed_twice_and_resumed_equals_an_unbroken_run(tmp_path: Path, bike_source: pd.DataFrame) -> None:
    unbroken = make_bike_workspace(tmp_path / "unbroken", bike_source)
    train_to_the_end(unbroken)

    broken = make_bike_workspace(tmp_path / "broken", bike_source)
    first_kill = kill_after_epoch(broken, 1)
    second_kill = kill_after_epoch(broken, first_kill + 2)
    assert 1 <= first_kill < second_kill < EPOCHS, "both kills must land inside the run"
    output = train_to_the_end(broken)
    assert f"resuming from the checkpoint of epoch {second_kill}" in output

    summary = json.loads((broken / "data/model/train.json").read_text())
    assert summary["resumed_from_epochs"] == [first_kill, second_kill]
    assert summary["epochs_run"] == EPOCHS
    expected = pd.read_csv(unbroken / "data/model/history.csv")
    resumed = pd.read_csv(broken / "data/model/history.csv")
    pd.testing.assert_frame_equal(resumed, expected, check_exact=True)  # every epoch's loss and metrics, bit for bit
    for got, want in zip(final_weights(broken), final_weights(unbroken), strict=True):
        assert np.array_equal(got, want)
    assert not list((broken / "data/train_state").glob("*/state.json"))  # a finished run leaves nothing to resume

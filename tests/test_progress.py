"""Progress of long work: one line per epoch, trial and validation chunk, with time and ETA."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tasks.core.progress import duration, epoch_progress, step_line

pytestmark = pytest.mark.timeout(300)


def test_durations_read_as_people_write_them() -> None:
    assert duration(4.24) == "4.2 s"
    assert duration(185) == "3 min 05 s"
    assert duration(3720) == "1 h 02 min"


def test_step_line_gives_position_facts_step_time_and_eta() -> None:
    line = step_line("trial", 2, 8, "val_loss 10.5", step_seconds=30.0, elapsed=60.0, bound="about ")
    assert line == "trial 2/8: val_loss 10.5 (30.0 s; about 3 min 00 s left)"
    assert step_line("trial", 8, 8, "x", 1.0, 8.0, "").endswith("(1.0 s; done)")


def test_training_logs_one_line_per_epoch_with_loss_metric_time_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=[keras.metrics.RootMeanSquaredError(name="rmse")])
    x, y = np.ones((8, 2), dtype="float32"), np.ones(8, dtype="float32")
    with caplog.at_level(logging.INFO, logger="tasks.core.progress"):
        model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[epoch_progress(3)])
    lines = [r.getMessage() for r in caplog.records if r.name == "tasks.core.progress"]
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3: loss ") and "rmse " in lines[0] and "val_loss " in lines[0]
    assert "left)" in lines[0] and lines[-1].endswith("; last epoch)")

"""Progress of long work, one log line per step: epochs of training, trials of a search, chunks of validation.

Lines, not a redrawn bar: DVC, Prefect and CI capture the console, and a line per step reads the same everywhere.
Each line says where the work is (3/150), what it measured, how long the step took and how long the rest may take
(an upper bound for training, which early stopping may end sooner).
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("tasks.core.progress")


def duration(seconds: float) -> str:
    """`seconds` for people: 4.2 s, 3 min 05 s, 1 h 02 min."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def step_line(label: str, done: int, total: int, facts: str, step_seconds: float, elapsed: float, bound: str) -> str:
    """`label done/total: facts (step time; ETA)`: the ETA from the mean step so far, times the steps left."""
    left = max(total - done, 0)
    eta = f"{bound}{duration(elapsed / max(done, 1) * left)} left" if left else "done"
    return f"{label} {done}/{total}: {facts} ({duration(step_seconds)}; {eta})"


def format_logs(logs: dict[str, Any]) -> str:
    """Keras' epoch logs as `loss 912.3, rmse 30.2, val_loss ...` (4 significant digits, learning rate left out)."""
    return ", ".join(f"{k} {float(v):.4g}" for k, v in logs.items() if k != "learning_rate")


def epoch_progress(total_epochs: int, initial_epoch: int = 0, label: str = "epoch") -> Any:
    """A Keras callback that logs one line per epoch: losses and metrics, the epoch's time and the ETA."""
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self.started = self.epoch_started = self.first_done = time.perf_counter()

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch_started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            now = time.perf_counter()
            done_here = epoch + 1 - initial_epoch
            if done_here == 1:  # the first epoch also traces the model: later ones are timed without it
                self.first_done = now
            per_epoch = (now - self.first_done) / (done_here - 1) if done_here > 1 else now - self.started
            left = total_epochs - (epoch + 1)
            eta = f"at most {duration(per_epoch * left)} left" if left else "last epoch"
            log.info(
                "%s %d/%d: %s (%s; %s)",
                label,
                epoch + 1,
                total_epochs,
                format_logs(logs or {}),
                duration(now - self.epoch_started),
                eta,
            )

    return EpochProgress()

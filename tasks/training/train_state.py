"""Resumable training: per-epoch checkpoints that survive a killed run, kept apart from DVC's outputs.

Why not inside `data/model/`: DVC deletes a stage's (non-persist) outputs before it runs the stage, so a checkpoint
there would be gone exactly when a crashed run is restarted. The state lives in a git-ignored folder instead,
`<train.state_dir>/<run key>/` (default `data/train_state/`), where the run key is a hash of everything that
determines the run (problem, hyper-parameters, the feature files' content): a changed config or new data starts
a fresh run and can never resume a stale one. The folder is removed when its run finishes.

Why not Keras' BackupAndRestore: it overwrites its files in place (a kill while writing leaves a broken
checkpoint), and it restores neither EarlyStopping's patience counter and best weights nor the history. Here
each epoch writes `epoch-<n>.keras` (the whole model: weights and optimizer state), `best-<n>.npz` (EarlyStopping's
best weights so far), `rng-<n>.npz` (the model's random generator states, see tasks.training.random_state) and then,
last
and atomically, `state.json` naming them; files of older epochs are removed only after that. A kill at any moment
leaves the previous complete epoch to resume from.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tasks.core.atomic import write_text
from tasks.training.random_state import save_seed_states, seed_states

STATE_FILE = "state.json"


def run_key(problem: str, hp: dict[str, Any], data_digests: dict[str, str], plan: dict[str, Any]) -> str:
    """A short hash of what determines a training run; equal keys mean a checkpoint may be resumed."""
    payload = json.dumps({"problem": problem, "hp": hp, "data": data_digests, "plan": plan}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class TrainState:
    """What a resumed run needs: epochs completed, EarlyStopping's counters, the history rows so far."""

    epoch: int = 0
    model_file: str = ""
    best_file: str = ""
    rng_file: str = ""
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2) + "\n"


def load_state(state_dir: Path) -> TrainState | None:
    """The state of the last complete epoch in `state_dir`, or None when there is nothing to resume."""
    path = state_dir / STATE_FILE
    if not path.is_file():
        return None
    state = TrainState(**json.loads(path.read_text()))
    if not (state_dir / state.model_file).is_file():
        return None
    if state.rng_file and not (state_dir / state.rng_file).is_file():
        return None
    return state


def save_epoch(state_dir: Path, state: TrainState, model: Any, best_weights: list[np.ndarray] | None) -> None:
    """Write epoch `state.epoch`'s model and best weights, then point `state.json` at them, then prune the rest."""
    state_dir.mkdir(parents=True, exist_ok=True)
    model_file, best_file = f"epoch-{state.epoch}.keras", f"best-{state.epoch}.npz"
    _write_atomically(state_dir / model_file, lambda tmp: model.save(tmp))
    if best_weights is not None:
        _write_atomically(state_dir / best_file, lambda tmp: _save_weights(tmp, best_weights))
        state.best_file = best_file
    rng_file = f"rng-{state.epoch}.npz"
    states = seed_states(model)
    _write_atomically(state_dir / rng_file, lambda tmp: save_seed_states(tmp, states))
    state.model_file, state.rng_file = model_file, rng_file
    write_text(state_dir / STATE_FILE, state.to_json())
    keep = {STATE_FILE, state.model_file, state.best_file, state.rng_file, "history.csv", "tensorboard"}
    for stale in state_dir.iterdir():
        if stale.name not in keep and stale.suffix in (".keras", ".npz"):
            stale.unlink(missing_ok=True)


def load_best_weights(state_dir: Path, state: TrainState) -> list[np.ndarray] | None:
    if not state.best_file or not (state_dir / state.best_file).is_file():
        return None
    with np.load(state_dir / state.best_file) as stored:
        return [stored[f"w{i}"] for i in range(len(stored.files))]


def _save_weights(path: Path, weights: list[np.ndarray]) -> None:
    with path.open("wb") as handle:
        np.savez(handle, **{f"w{i}": w for i, w in enumerate(weights)})


def _write_atomically(target: Path, write: Any) -> None:
    # Keras picks the format from the suffix, so the temporary name keeps it.
    tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)

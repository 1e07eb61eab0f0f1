"""The random state of a training run that a checkpoint must carry for a resumed run to equal an unbroken one.

A Keras 3 model's randomness lives in `SeedGenerator`s (Dropout, the Random* augmentation layers, and the global
generator that unseeded `keras.random` calls use): each holds a state variable `[seed, counter]` that advances with
every draw. `model.save` does not store them (they are neither weights nor optimizer variables), and a loaded model
draws a fresh seed, so a resumed run would drop out different units than the unbroken run did. `seed_states` reads
them all by a stable name and `restore_seed_states` puts them back. The order of the training rows is the other
random state; it is not carried but recomputed: `tasks.training.fit` shuffles each epoch with a seed made of the run's
seed and the epoch number, so epoch k sees the same order whether or not the run was resumed before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

GLOBAL = "keras/global_seed_generator"


def _generators(model: Any) -> dict[str, Any]:
    """Every SeedGenerator of `model`'s layers (named layer path/index), and the global one if it exists."""
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

    found: dict[str, Any] = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for index, generator in enumerate(getattr(layer, "_seed_generators", [])):
            found[f"{layer.name}/{index}"] = generator
    global_generator = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
    if global_generator is not None:
        found[GLOBAL] = global_generator
    return found


def seed_states(model: Any) -> dict[str, np.ndarray]:
    """The current state of every random generator `model` draws from, by name."""
    from keras import ops

    return {name: np.asarray(ops.convert_to_numpy(gen.state.value)) for name, gen in _generators(model).items()}


def restore_seed_states(model: Any, states: dict[str, np.ndarray]) -> list[str]:
    """Put `states` back into `model`'s generators (creating the global one if it was saved); returns the names
    of the model's generators that the states did not cover (a checkpoint of another model), empty when all were."""
    from keras.src.random.seed_generator import global_seed_generator

    if GLOBAL in states:
        global_seed_generator()  # create it, so the saved state has a home
    generators = _generators(model)
    for name, value in states.items():
        if name in generators:
            generators[name].state.assign(value.astype(generators[name].state.dtype))
    return sorted(set(generators) - set(states) - {GLOBAL})


def save_seed_states(path: Path, states: dict[str, np.ndarray]) -> None:
    with path.open("wb") as handle:
        np.savez(handle, **{f"s{i}": value for i, value in enumerate(states.values())}, names=np.array(list(states)))


def load_seed_states(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        names = [str(name) for name in stored["names"]]
        return {name: stored[f"s{i}"] for i, name in enumerate(names)}

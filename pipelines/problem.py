"""What a tabular problem definition provides to the shared stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.errors import PipelineError


@dataclass(frozen=True)
class TabularProblem:
    """A supervised problem on a table with a time column.

    `derive_timestamp` turns source rows into their point in time (NaT where it cannot: validation reports those).
    `leakage_columns` are source columns that must never reach the model (they reveal the target).
    `build_model(spec, hp)` returns a compiled Keras model whose preprocessing layers are inside it.
    `common_sense_baseline(train)` returns a function from a frame to predictions, fitted on `train` only.
    """

    name: str
    task: str
    target: str
    timestamp: str
    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    leakage_columns: tuple[str, ...]
    source_columns: tuple[str, ...]
    expectations_dir: Path
    derive_timestamp: Callable[[pd.DataFrame], pd.Series]
    build_model: Callable[[dict[str, Any], dict[str, Any]], Any]
    common_sense_baseline: Callable[[pd.DataFrame], Callable[[pd.DataFrame], Any]]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        leaking = set(self.features) & (set(self.leakage_columns) | {self.target})
        if leaking:
            raise PipelineError(
                f"problem '{self.name}': leakage columns {sorted(leaking)} are listed as features; "
                "remove them from the feature lists"
            )

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric_features + self.categorical_features

    @property
    def model_columns(self) -> list[str]:
        """Columns that leave validation: the time, the features and the target, never a leakage column."""
        return [self.timestamp, *self.features, self.target]

    def suite_path(self, view: str) -> Path:
        return self.expectations_dir / f"{view}.json"

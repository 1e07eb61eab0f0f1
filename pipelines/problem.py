"""What a problem definition provides to the shared stages: a table (`TabularProblem`) or images (`ImageProblem`).

Stages branch on `problem.kind` once, at the top of their `main()`: "tabular" runs the table path, "image" hands
the stage to its image counterpart in `tasks/image_*.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

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

    kind: ClassVar[str] = "tabular"

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


@dataclass(frozen=True)
class ImageProblem:
    """A classification problem on fixed-size greyscale images with integer labels.

    `source_files` maps a source split ("train", "test") to the (images, labels) file names inside the source
    folder, URL prefix or S3 prefix. `classes` are the label names, index = label value. `build_model(spec, hp)`
    returns a compiled Keras model that takes raw uint8 images shaped `image_shape` (scaling and augmentation are
    layers inside it) and outputs class probabilities in float32.
    """

    kind: ClassVar[str] = "image"

    name: str
    classes: tuple[str, ...]
    image_shape: tuple[int, int]
    source_files: dict[str, tuple[str, str]]
    build_model: Callable[[dict[str, Any], dict[str, Any]], Any]
    task: str = "classification"
    target: str = "label"
    description: str = ""

    def __post_init__(self) -> None:
        if set(self.source_files) != {"train", "test"}:
            raise PipelineError(f"problem '{self.name}': source_files needs exactly a 'train' and a 'test' entry")
        if len(self.classes) < 2:
            raise PipelineError(f"problem '{self.name}': a classification problem needs at least two classes")

    @property
    def pixels(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

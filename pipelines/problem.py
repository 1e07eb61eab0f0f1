"""What a problem definition provides to the shared stages: a table (`TabularProblem`), images (`ImageProblem`),
short texts (`TextProblem`) or hourly series of several stations (`SeriesProblem`).

`kind` names the kind of data (tasks/kinds/: "table", "image", "text", "series"); the stages ask the kind for its
hooks and never branch on it. `task` is the objective's family (regression or classification; the number of classes
makes a classification binary or multi-class).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from tasks.core.errors import PipelineError


@dataclass(frozen=True)
class TabularProblem:
    """A supervised problem on a table, with or without a time column.

    `timestamp` names the time column collect derives with `derive_timestamp` (NaT where it cannot: validation
    reports those); None for a table without time (no freshness or gap checks, no time windows, no time split).
    `leakage_columns` are source columns that must never reach the model (they reveal the target).
    `source_columns` are the columns a source must have, exactly (collect refuses another header, naming the
    difference). `build_model(spec, hp)` returns a compiled Keras model whose preprocessing layers are inside it.
    `common_sense_baseline(train)` returns a function from a frame to predictions, fitted on `train` only (None:
    the objective's and the linear baselines only). Classification: `classes` maps target values to class names
    (None: the values seen, as names), `positive_class` names the positive class of a binary problem.
    """

    kind: ClassVar[str] = "table"

    name: str
    task: str
    target: str
    timestamp: str | None
    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    leakage_columns: tuple[str, ...]
    source_columns: tuple[str, ...]
    expectations_dir: Path
    build_model: Callable[[dict[str, Any], dict[str, Any]], Any]
    derive_timestamp: Callable[[pd.DataFrame], pd.Series] | None = None
    common_sense_baseline: Callable[[pd.DataFrame], Callable[[pd.DataFrame], Any]] | None = None
    classes: tuple[tuple[Any, str], ...] | None = None
    positive_class: str | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        leaking = set(self.features) & (set(self.leakage_columns) | {self.target})
        if leaking:
            raise PipelineError(
                f"problem '{self.name}': leakage columns {sorted(leaking)} are listed as features; "
                "remove them from the feature lists"
            )
        if (self.timestamp is None) != (self.derive_timestamp is None):
            raise PipelineError(f"problem '{self.name}': a timestamp column needs derive_timestamp, and only then")
        if self.task not in ("regression", "classification"):
            raise PipelineError(f"problem '{self.name}': task {self.task!r}; expected regression or classification")

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric_features + self.categorical_features

    @property
    def model_columns(self) -> list[str]:
        """Columns that leave validation: the time, the features and the target, never a leakage column."""
        return [*([self.timestamp] if self.timestamp else []), *self.features, self.target]

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
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.source_files) != {"train", "test"}:
            raise PipelineError(f"problem '{self.name}': source_files needs exactly a 'train' and a 'test' entry")
        if len(self.classes) < 2:
            raise PipelineError(f"problem '{self.name}': a classification problem needs at least two classes")

    @property
    def pixels(self) -> int:
        return self.image_shape[0] * self.image_shape[1]


@dataclass(frozen=True)
class TextProblem:
    """A classification problem on short texts (one text column, one label column).

    `classes` maps the source's label values to class names, the positive class of a binary problem last (its
    probability is what the decision threshold applies to); rows whose label is in `drop_labels` are not examples
    (collect drops them and counts them in the manifest). `build_model(spec, hp)` returns a compiled Keras model
    that takes raw strings (`text`, one per row; the vectorisation is a layer inside it, its vocabulary fitted on
    the training split by featurize) and outputs class probabilities in float32.
    """

    kind: ClassVar[str] = "text"

    name: str
    text_column: str
    label_column: str
    classes: tuple[tuple[Any, str], ...]
    build_model: Callable[[dict[str, Any], dict[str, Any]], Any]
    drop_labels: tuple[Any, ...] = ()
    task: str = "classification"
    target: str = "label"
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.classes) < 2:
            raise PipelineError(f"problem '{self.name}': a classification problem needs at least two classes")
        if {value for value, _ in self.classes} & set(self.drop_labels):
            raise PipelineError(f"problem '{self.name}': a dropped label cannot also be a class")

    @property
    def class_names(self) -> list[str]:
        return [name for _, name in self.classes]


@dataclass(frozen=True)
class SeriesProblem:
    """Forecast one variable at one station `horizon_hours` ahead from the previous `lookback_hours` of hourly
    readings of every station (a regression on a raw window of hours x features).

    The source is a long table: one row per (station, hour), `time_column` in UTC, `station_column` naming the
    station, the `features` as columns. `valid_ranges` bounds each feature (a reading outside is a sensor error:
    validation counts it and featurize treats it as missing). `build_model(spec, hp)` returns a compiled Keras model
    that takes a raw float32 window (lookback_hours, stations x features), normalises it inside, and outputs the
    forecast in the target's unit.
    """

    kind: ClassVar[str] = "series"

    name: str
    time_column: str
    station_column: str
    stations: tuple[str, ...]
    features: tuple[str, ...]
    target_station: str
    target_feature: str
    lookback_hours: int
    horizon_hours: int
    build_model: Callable[[dict[str, Any], dict[str, Any]], Any]
    valid_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    task: str = "regression"
    target: str = "target"
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.target_station not in self.stations or self.target_feature not in self.features:
            raise PipelineError(f"problem '{self.name}': the target station and feature must be among those read")
        if self.horizon_hours < 1 or self.lookback_hours < self.horizon_hours:
            raise PipelineError(f"problem '{self.name}': lookback_hours must be at least horizon_hours (>= 1)")

    @property
    def columns(self) -> list[str]:
        """The window's feature columns, station by station: EWR_temp, EWR_dewp, ..., LGA_pressure."""
        return [f"{station}_{feature}" for station in self.stations for feature in self.features]

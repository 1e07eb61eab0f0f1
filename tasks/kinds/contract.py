"""The contract a kind of data fulfils, so that every stage runs every kind without knowing which it is.

A kind (a table, images; text and series next) owns what differs between kinds of data: how a source becomes the
raw artefact, which checks the data must pass, how the feature spec is fitted and a split turned into model
inputs, what the serving signature's inputs are, what drift means, and the baselines and importance that need
to know the inputs. Everything else (training, the gate, metrics per objective, export checks, deploy, reports) is
shared. A problem definition in pipelines/ names its kind; `tasks.kinds.kind_for(problem)` returns the kind.

Paths come from tasks/core/artifacts.py. Hooks that write artefacts (collect, validate, featurize) write them there;
every other hook is a function of its arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from tasks.core.params import Params

Predictor = Callable[[pd.DataFrame], np.ndarray]
# The monitor stage's measurement, handed to a kind's `drift` (tasks/monitoring/drift.py `measurer`): (reference,
# current,
# numeric columns, categorical columns, time column or None) -> (drift.json's verdict fields, Evidently snapshot).
# Passed in rather than imported, so the calibrated engine is a dependency of the monitor stage alone.
MeasureDrift = Callable[
    [pd.DataFrame, pd.DataFrame, Sequence[str], Sequence[str], str | None], tuple[dict[str, Any], Any]
]


@dataclass(frozen=True)
class DriftResult:
    """What monitor writes: the summary for drift.json and a function that writes drift.html to a path."""

    summary: dict[str, Any]
    write_html: Callable[[Path], None]


@runtime_checkable
class DataKind(Protocol):
    """The hooks of a kind of data. `problem` is the problem definition (pipelines/), `params` the effective
    params (tasks/core/params.py), `spec` the feature spec that `featurize` wrote."""

    name: str
    # params sections and the keys this kind understands in each, beyond the kind-neutral ones (tasks/core/params.py)
    param_keys: Mapping[str, frozenset[str]]

    def collect(self, problem: Any, params: Params) -> None:
        """Read the source into data/raw (data.parquet + manifest.json); leave the last good data on failure."""

    def validate(self, problem: Any, params: Params) -> None:
        """Check data/raw; write data/validated and reports/validation, or quarantine the batch and raise."""

    def featurize(self, problem: Any, params: Params) -> dict[str, Any]:
        """Split data/validated into train/val/test, fit the feature spec on train, write data/features; return
        the spec. Classification targets are written as class indices; the spec's `classes` names them."""

    def model_inputs(self, frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
        """The model's inputs for `frame`, by input name, in signature order (TensorFlow tensors)."""

    def signature_inputs(self, spec: dict[str, Any], train: pd.DataFrame) -> list[dict[str, Any]]:
        """The model card's `signature.inputs` (see /work/notes/SIGNATURE.md): name, dtype, per-instance shape,
        training range or categories."""

    def card_inputs(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The model card's summary `inputs` block (the `signature` block is the full description)."""

    def write_savedmodel(self, model: Any, target: Path, spec: dict[str, Any]) -> None:
        """Export `model` as a SavedModel whose `serving_default` takes raw inputs (inference mode)."""

    def baselines(
        self, problem: Any, params: Params, train: pd.DataFrame, spec: dict[str, Any]
    ) -> dict[str, tuple[Predictor, str]]:
        """Baselines that know the inputs (the problem's common-sense rule, a linear model), fitted on `train`:
        name -> (predictor, description). Predictions as the objective's: values, or class probabilities."""

    def importance(
        self,
        predict: Predictor,
        test: pd.DataFrame,
        actual: np.ndarray,
        score: Callable[[np.ndarray, np.ndarray], float],
        lower_is_better: bool,
        repeats: int,
        seed: int,
        spec: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Rows {feature, score_loss_mean, score_loss_std, reference_score}: what the model owes each input part."""

    def drift(
        self, problem: Any, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
    ) -> DriftResult:
        """Compare new data (or its stand-in) with the training split."""

    def prediction_ids(self, test: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
        """Columns identifying each test row in predictions.csv (the time for a table with time, else the row)."""

"""The table kind: rows of named columns, checked by committed Great Expectations suites.

Its hooks live in small modules beside this one: `table_source` (collect), `table_checks` (validate),
`table_split` (featurize), `table_drift` (monitor); this module gathers them and adds what a table's model needs:
raw columns as named inputs, their signature, the common-sense and linear baselines and permutation importance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TabularProblem
from tasks.core.compute import scheduler_from_params
from tasks.core.params import Params
from tasks.kinds import table_checks, table_drift, table_source, table_split
from tasks.kinds.contract import DriftResult, MeasureDrift, Predictor
from tasks.kinds.table_spec_on_dask import fit_feature_spec_on
from tasks.kinds.table_split import MISSING_CATEGORY
from tasks.objectives import baselines as common
from tasks.objectives.importance import permutation_importance


class TableKind:
    name = "table"
    param_keys: Mapping[str, frozenset[str]] = {
        "collect": frozenset({"sha256", "as_of", "incremental", "max_line_bytes", "test_source"})
        | {"read", "test_read"},  # source options (tasks/data/read_options.py)
        "validate": frozenset({"sample_bad_values", "chunk_rows", "max_gap", "gap_severity", "now", "data_docs"})
        | {"duplicate_severity", "max_duplicate_share"},
        "featurize": frozenset({"split", "test_fraction", "holdout"}),  # holdout: tasks/kinds/table_holdout.py
        "train": frozenset({"hidden_units"}),
        "evaluate": frozenset({"slices"}),
        "monitor": frozenset({"window_days"}),
    }

    def collect(self, problem: TabularProblem, params: Params) -> None:
        table_source.collect(table_source.CollectSettings.from_params(params), problem)

    def validate(self, problem: TabularProblem, params: Params) -> None:
        table_checks.validate(problem, table_checks.ValidateSettings.from_params(params))

    def featurize(self, problem: TabularProblem, params: Params) -> dict[str, Any]:
        scheduler = scheduler_from_params(params)  # not local: the statistics are fitted on the Dask workers
        fit = table_split.fit_feature_spec if scheduler.is_local else partial(fit_feature_spec_on, scheduler)
        return table_split.featurize(problem, params, fit)

    def model_inputs(self, frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
        """Raw feature columns as tensors shaped (n, 1), typed as the model's inputs expect.

        Strings go through `tf.constant`: Keras 3 rejects numpy string arrays in `fit`/`predict`.
        """
        import tensorflow as tf

        inputs: dict[str, Any] = {}
        for name in spec["numeric"]:  # a missing number is NaN: the model imputes it (pipelines/tabular_model.py)
            inputs[name] = tf.constant(pd.to_numeric(frame[name]).to_numpy(dtype="float32").reshape(-1, 1))
        for name, info in spec["categorical"].items():
            column = frame[name]
            if column.isna().any():  # the missing marker the model was trained with, never the string "None"
                marker = info.get("missing", {}).get("marker", MISSING_CATEGORY if info["dtype"] == "string" else -1)
                column = column.astype(object).where(column.notna(), marker)
            if info["dtype"] == "string":
                inputs[name] = tf.constant(column.astype(str).to_numpy().reshape(-1, 1))
            else:
                inputs[name] = tf.constant(column.to_numpy(dtype="int64").reshape(-1, 1))
        return inputs

    def signature_inputs(self, spec: dict[str, Any], train: pd.DataFrame) -> list[dict[str, Any]]:
        """One entry per model input. `field` is the source's own column name where it differs from the input's
        (requests use either); `missing` states the policy for a column that had missing values in training:
        null, an absent field (and NaN for a number) are then served as the model was trained, not refused."""
        inputs: list[dict[str, Any]] = []
        fields = spec.get("source_names", {})
        for name, stats in spec["numeric"].items():
            column = pd.to_numeric(train[name])
            rng = {"min": float(column.min()), "max": float(column.max())}
            inputs.append({"name": name, "dtype": "float32", "shape": [], "range": rng})
            if "missing" in stats:
                inputs[-1]["missing"] = {**stats["missing"], "fill": stats["mean"]}
        for name, info in spec["categorical"].items():
            entry = {"name": name, "dtype": info["dtype"], "shape": [], "categories": list(info["vocabulary"])}
            if "missing" in info:
                entry["missing"] = dict(info["missing"])
            inputs.append(entry)
        for entry in inputs:
            if entry["name"] in fields:
                entry["field"] = fields[entry["name"]]
        return inputs

    def card_inputs(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "numeric": list(spec["numeric"]),
            "categorical": {k: v["dtype"] for k, v in spec["categorical"].items()},
        }

    def write_savedmodel(self, model: Any, target: Path, spec: dict[str, Any]) -> None:
        model.export(str(target), format="tf_saved_model", verbose=False)

    def baselines(
        self, problem: TabularProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any]
    ) -> dict[str, tuple[Predictor, str]]:
        found: dict[str, tuple[Predictor, str]] = {}
        if problem.common_sense_baseline is not None:
            found["common_sense"] = (
                problem.common_sense_baseline(train),
                f"{common.first_doc_line(problem.common_sense_baseline)} (pipelines/{problem.name})",
            )
        if spec["task"] == "regression":
            found["linear"] = (
                common.linear_baseline(train, spec),
                "scikit-learn ridge regression on the same features",
            )
        else:
            found["logistic"] = (
                common.logistic_baseline(train, spec, list(range(len(spec["classes"])))),
                "scikit-learn logistic regression on the same features",
            )
        return found

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
        features = [*spec["numeric"], *spec["categorical"]]
        return permutation_importance(predict, test, actual, features, score, lower_is_better, repeats, seed)

    def drift(
        self, problem: TabularProblem, params: Params, train: pd.DataFrame, spec: dict[str, Any], measure: MeasureDrift
    ) -> DriftResult:
        return table_drift.drift(problem, params, train, spec, measure)

    def prediction_ids(self, test: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
        if spec.get("timestamp"):
            return pd.DataFrame({"timestamp": test[spec["timestamp"]].astype(str)})
        return pd.DataFrame({"row": np.arange(len(test))})


TABLE = TableKind()

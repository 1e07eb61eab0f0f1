"""The table kind's feature spec with its statistics fitted on Dask workers: the dict
tasks/kinds/table_split.fit_feature_spec gives, byte for byte once written (spec.json), when `compute.scheduler`
names a cluster.

The training split is cut into partitions that follow numpy's summation order (tasks/scale/exact_moments.py), so the
means and variances are the very floats pandas computes in one process, not merely close; vocabularies and missing
shares are exact counts. The spec's rules (the missing-value policy, the source names) are fit_feature_spec's, restated
here on the computed statistics; tests/test_feature_spec_on_dask.py compares the two on the bundled data and on
tables with gaps, so a rule changed in one place and not the other fails there.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from pipelines.problem import TabularProblem
from tasks.core.compute import Scheduler, dask_client
from tasks.kinds.table_source import safe_name
from tasks.kinds.table_split import MISSING_CATEGORY, missing_marker
from tasks.scale.exact_moments import Moments, column_moments

log = logging.getLogger(__name__)


def spec_from_moments(moments: Moments, train: pd.DataFrame, problem: TabularProblem) -> dict[str, Any]:
    """fit_feature_spec's dict from statistics computed elsewhere (`train` is read for column dtypes only)."""
    rows = moments.rows
    numeric: dict[str, Any] = {}
    for name in problem.numeric_features:
        numeric[name] = {"mean": moments.mean[name], "variance": moments.variance[name]}
        share = moments.missing[name] / rows if rows else float("nan")
        if share > 0:
            numeric[name]["missing"] = {"policy": "impute_mean_with_indicator", "share": round(share, 6)}
    categorical: dict[str, Any] = {}
    for name in problem.categorical_features:
        column = train[name]
        is_string = pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
        values = sorted(moments.distinct[name])
        vocabulary = [str(v) for v in values] if is_string else [int(v) for v in values]
        categorical[name] = {"dtype": "string" if is_string else "int64", "vocabulary": vocabulary}
        share = moments.missing[name] / rows if rows else float("nan")
        if share > 0:
            marker = MISSING_CATEGORY if is_string else missing_marker(vocabulary)
            categorical[name]["vocabulary"] = [*vocabulary, marker]
            categorical[name]["missing"] = {"policy": "category", "marker": marker, "share": round(share, 6)}
    spec: dict[str, Any] = {
        "kind": "table",
        "problem": problem.name,
        "task": problem.task,
        "target": problem.target,
        "timestamp": problem.timestamp,
        "numeric": numeric,
        "categorical": categorical,
        "train_rows": rows,
    }
    source_names = {safe_name(c): str(c) for c in problem.source_columns if safe_name(c) != str(c)}
    source_names = {k: v for k, v in source_names.items() if k in problem.features}
    if source_names:
        spec["source_names"] = source_names
    return spec


def fit_feature_spec_with(client: Any, train: pd.DataFrame, problem: TabularProblem) -> dict[str, Any]:
    """fit_feature_spec(train, problem) with every pass over the rows on the cluster behind `client`."""
    numeric, categorical = list(problem.numeric_features), list(problem.categorical_features)
    return spec_from_moments(column_moments(client, train, numeric, categorical), train, problem)


def fit_feature_spec_on(scheduler: Scheduler, train: pd.DataFrame, problem: TabularProblem) -> dict[str, Any]:
    """The spec fitted on the cluster `compute.scheduler` names (a LocalCluster started for it, or an address)."""
    with dask_client(scheduler) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        log.info("fitting the feature statistics of %d rows on %d Dask worker(s)", len(train), workers)
        return fit_feature_spec_with(client, train, problem)

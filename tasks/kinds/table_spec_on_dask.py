"""The table kind's feature spec with its statistics fitted on Dask workers: the dict
tasks/kinds/table_split.fit_feature_spec gives, byte for byte once written (spec.json), when `compute.scheduler`
names a cluster.

The training split is cut into partitions that follow numpy's summation order (tasks/scale/exact_moments.py), so the
means and variances are the very floats pandas computes in one process, not merely close; vocabularies and missing
shares are exact counts. The spec's rules (the missing-value policy, the source names) are one function for both,
table_split.spec_from_moments; tests/test_feature_spec_on_dask.py compares the two paths on the bundled data and on
tables with gaps.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from pipelines.problem import TabularProblem
from tasks.core.compute import Scheduler, dask_client
from tasks.kinds.table_split import spec_from_moments
from tasks.scale.exact_moments import column_moments

log = logging.getLogger(__name__)


def fit_feature_spec_with(
    client: Any, train: pd.DataFrame, problem: TabularProblem, missing: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """fit_feature_spec(train, problem, missing) with every pass over the rows on the cluster behind `client`."""
    numeric, categorical = list(problem.numeric_features), list(problem.categorical_features)
    return spec_from_moments(column_moments(client, train, numeric, categorical), train, problem, missing)


def fit_feature_spec_on(
    scheduler: Scheduler, train: pd.DataFrame, problem: TabularProblem, missing: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The spec fitted on the cluster `compute.scheduler` names (a LocalCluster started for it, or an address)."""
    with dask_client(scheduler) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        log.info("fitting the feature statistics of %d rows on %d Dask worker(s)", len(train), workers)
        return fit_feature_spec_with(client, train, problem, missing)

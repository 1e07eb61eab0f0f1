"""The drift statistics of tasks/monitoring/drift_stats.py with the current side a partitioned dask column.

The reference (a training snapshot) stays in memory; the current data, however large, is reduced partition by partition
on the cluster (tasks/scale/drift_counts.py), never gathered whole. Same statistics as `numeric_statistics` and
`categorical_statistics`: PSI, KS and its p-value exactly, the Wasserstein distance exactly too (a second pass brings
back the current values inside the gaps where the CDFs cross; tests/test_scale_equivalence.py states the tolerance).

`OnDask` is the monitor's hook (tasks/monitoring/data_drift.py `assess(on=...)`): with `compute.scheduler` set, the
current window's columns are cut into partitions and reduced on the workers, the reference windows' calibration stays
here; the verdicts are the same (tests/test_monitor_on_dask.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.core.compute import results
from tasks.monitoring.data_drift import CurrentStatistics
from tasks.monitoring.drift_stats import NumericReference, categorical_statistics, ks_p_value, psi
from tasks.scale.drift_counts import (
    column_counts,
    crossing_gaps,
    ks_from_counts,
    values_in_gaps,
    wasserstein_from_counts,
)


def numeric_statistics(client: Any, reference: NumericReference, column: Any) -> dict[str, float]:
    ref_values = np.unique(reference.sorted_values)
    counts = column_counts(client, column, ref_values, reference.edges)
    result = {"psi": psi(reference.counts, counts.psi_counts)}
    n = reference.sorted_values.size
    if counts.present and n:
        at_or_below = np.searchsorted(reference.sorted_values, ref_values, side="right")
        statistic = ks_from_counts(at_or_below, n, counts)
        gaps = crossing_gaps(at_or_below, n, counts)  # a second, small pass where the CDFs cross inside a gap
        inside = values_in_gaps(client, column, ref_values, gaps) if gaps.size else None
        distance = wasserstein_from_counts(ref_values, at_or_below, n, counts, inside)
        result |= {
            "ks_statistic": statistic,
            "ks_p": ks_p_value(statistic, n, counts.present),
            "wasserstein_std": distance / reference.std if reference.std > 0 else (0.0 if distance == 0 else np.inf),
        }
    else:
        result |= {"ks_statistic": np.nan, "ks_p": np.nan, "wasserstein_std": np.nan}
    return result


def categorical_statistics_of(client: Any, reference: pd.Series, column: Any) -> dict[str, float]:
    """Categorical drift of dask Series `column` against pandas Series `reference` (missing is a category)."""
    current = results(client, [client.compute(column.astype(str).value_counts(dropna=False), retries=2)])[0]
    ref = reference.astype(str).value_counts(dropna=False)
    categories = sorted(set(ref.index) | set(current.index))
    return categorical_statistics(
        ref.reindex(categories, fill_value=0).to_numpy(), current.reindex(categories, fill_value=0).to_numpy()
    )


def code_counts(client: Any, codes: Any, bins: int) -> np.ndarray:
    """np.bincount(codes, minlength=bins) of dask Series `codes`, one count per partition, summed on the cluster."""
    from dask import delayed

    count = delayed(lambda part: np.bincount(np.asarray(part, dtype=np.int64), minlength=bins), pure=True)
    parts = [count(part) for part in codes.to_delayed()]
    if not parts:
        return np.zeros(bins, dtype=np.int64)
    return np.sum(results(client, client.compute(parts, retries=2)), axis=0)


class OnDask(CurrentStatistics):
    """The current window's statistics reduced on the cluster behind `client`, `partitions` partitions a column."""

    def __init__(self, client: Any, partitions: int) -> None:
        self.client, self.partitions = client, max(1, partitions)

    def _column(self, values: np.ndarray) -> Any:
        import dask.dataframe as dd

        return dd.from_pandas(pd.Series(values), npartitions=min(self.partitions, max(1, values.size)), sort=False)

    def numeric(self, reference: NumericReference, current: np.ndarray) -> dict[str, float]:
        return numeric_statistics(self.client, reference, self._column(current))

    def counts(self, codes: np.ndarray, bins: int) -> np.ndarray:
        return code_counts(self.client, self._column(codes), bins)

"""The drift statistics of tasks/monitoring/drift_stats.py with the current side a partitioned dask column.

The reference (a training snapshot) stays in memory; the current data, however large, is reduced partition by partition
on the cluster (tasks/scale/drift_counts.py) and never gathered. Same statistics as `numeric_statistics` and
`categorical_statistics`: PSI, KS and its p-value exactly, the Wasserstein distance exactly unless the CDFs cross
inside a gap between reference values (tests/test_scale_equivalence.py states the tolerance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.monitoring.drift_stats import NumericReference, categorical_statistics, ks_p_value, psi
from tasks.scale.drift_counts import column_counts, ks_from_counts, wasserstein_from_counts


def numeric_statistics(client: Any, reference: NumericReference, column: Any) -> dict[str, float]:
    ref_values = np.unique(reference.sorted_values)
    counts = column_counts(client, column, ref_values, reference.edges)
    result = {"psi": psi(reference.counts, counts.psi_counts)}
    n = reference.sorted_values.size
    if counts.present and n:
        at_or_below = np.searchsorted(reference.sorted_values, ref_values, side="right")
        statistic = ks_from_counts(at_or_below, n, counts)
        distance = wasserstein_from_counts(ref_values, at_or_below, n, counts)
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
    current = client.compute(column.astype(str).value_counts(dropna=False), sync=True)
    ref = reference.astype(str).value_counts(dropna=False)
    categories = sorted(set(ref.index) | set(current.index))
    return categorical_statistics(
        ref.reindex(categories, fill_value=0).to_numpy(), current.reindex(categories, fill_value=0).to_numpy()
    )

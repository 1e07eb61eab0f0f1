"""The feature spec's statistics fitted with Dask over a partitioned training table (the spec itself is applied by
the model's preprocessing layers, partition by partition, in training and serving alike).

Numeric: mean and population variance (Dask's tree reduction of per-partition sums: equal to pandas' within 1e-9
relative, tests/test_scale_equivalence.py); categorical: the sorted vocabulary (exact) and the dtype.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tasks.core.compute import results


def fit_statistics(
    client: Any, frame: Any, numeric: list[str], categorical: list[str]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, Any]]]:
    """(numeric, categorical) parts of the spec, as tasks/kinds/table_split.fit_feature_spec gives them."""
    import dask

    means = frame[numeric].astype("float64").mean() if numeric else None
    variances = frame[numeric].astype("float64").var(ddof=0) if numeric else None
    vocabularies = [frame[name].dropna().unique() for name in categorical]
    computed = (
        results(client, client.compute([means, variances, *vocabularies], retries=2))
        if client
        else dask.compute(means, variances, *vocabularies)
    )
    mean_values, variance_values, *uniques = computed
    numeric_spec = {
        name: {"mean": float(mean_values[name]), "variance": float(variance_values[name])} for name in numeric
    }
    categorical_spec: dict[str, dict[str, Any]] = {}
    for name, values in zip(categorical, uniques, strict=True):
        dtype = frame[name].dtype
        is_string = pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
        ordered = sorted(pd.Series(values).tolist())
        categorical_spec[name] = {
            "dtype": "string" if is_string else "int64",
            "vocabulary": [str(v) for v in ordered] if is_string else [int(v) for v in ordered],
        }
    return numeric_spec, categorical_spec

"""A categorical column with more values than the category limit: what is checked instead of the full value set.

The `top_k` most frequent reference values form the set, and the rest is an "other" share: a batch passes while at
least `1 - other share - slack` of its values are in the set (severity `warning`: a shifted mix is reported, it
does not fail the run). The inferring command warns, naming the column and this replacement, so a high-cardinality
column is never left unchecked in silence.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)


def top_k_expectation(series: pd.Series, top_k: int, slack: float = 0.05) -> dict[str, Any]:
    """`expect_column_values_to_be_in_set` over the `top_k` most frequent values, `mostly` their share - slack."""
    present = series.dropna()
    counts = present.astype(object).value_counts(sort=True)
    counts = counts.iloc[pd.Index(counts.index.map(str)).argsort(kind="stable")].sort_values(
        ascending=False, kind="stable"
    )  # ties broken by the value's text, so the set is the same on every run
    top = counts.iloc[:top_k]
    covered = float(top.sum() / len(present)) if len(present) else 1.0
    other = round(1.0 - covered, 4)
    mostly = round(max(0.0, covered - slack), 4)
    name = str(series.name)
    log.warning(
        "column '%s' has %d distinct values, above the category limit %d: checked instead is the set of its %d most "
        "frequent values (%.1f%% of the reference) with an 'other' share of %.1f%% (at most %.1f%% outside the set "
        "passes; severity warning)",
        name, len(counts), top_k, len(top), 100 * covered, 100 * other, 100 * (1 - mostly),
    )  # fmt: skip
    return {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": name, "value_set": sorted(top.index.tolist(), key=str), "mostly": mostly},
        "meta": {"high_cardinality": {"distinct": len(counts), "top_k": len(top), "other_share": other}},
        "severity": "warning",
    }

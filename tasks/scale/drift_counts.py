"""Per-partition reductions of a current column against an in-memory reference, summed on the cluster.

The drift statistics (tasks/monitoring/drift_stats.py) are functions of these sums: PSI of the counts per PSI bin
(exact); the KS statistic of the current counts at and just below each distinct reference value (exact: between two
reference values F_ref is constant and F_cur monotone, so the supremum is at an end); the Wasserstein distance of
the same counts plus, per gap between reference values, the sum of the current values' distances to the gap's right
end; where the two CDFs cross inside a gap, a second pass brings back the current values inside those gaps only
(`values_in_gaps`), and the integral there is taken step by step: exact (to float rounding) everywhere. No partition is
ever gathered whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.core.compute import results


@dataclass
class NumericCounts:
    """Sums over the current column's partitions; `ref_values`: the distinct reference values (sorted)."""

    present: int
    psi_counts: np.ndarray  # per PSI bin (the reference's edges), last bin: missing
    at_or_below: np.ndarray  # current values <= each reference value
    below: np.ndarray  # current values < each reference value
    # [sum (u0 - x) for x < u0; per gap k: sum (u_{k+1} - x) for u_k < x < u_{k+1}; sum (x - u_last) for x > u_last]
    gap_sums: np.ndarray

    def __add__(self, other: NumericCounts) -> NumericCounts:
        return NumericCounts(
            self.present + other.present,
            self.psi_counts + other.psi_counts,
            self.at_or_below + other.at_or_below,
            self.below + other.below,
            self.gap_sums + other.gap_sums,
        )


def partition_counts(values: Any, ref_values: np.ndarray, edges: np.ndarray) -> NumericCounts:
    """The reductions of one partition (a pandas Series or array; NaN: missing)."""
    array = np.asarray(values, dtype="float64")
    missing = np.isnan(array)
    present = np.sort(array[~missing])
    codes = np.searchsorted(edges, array, side="left")
    codes[missing] = edges.size + 1
    psi_counts = np.bincount(codes, minlength=edges.size + 2).astype(np.int64)
    at_or_below = np.searchsorted(present, ref_values, side="right").astype(np.int64)
    below = np.searchsorted(present, ref_values, side="left").astype(np.int64)
    k = ref_values.size
    gap_sums = np.zeros(k + 1)
    if present.size and k:
        gap = np.searchsorted(ref_values, present, side="right")  # 0: below u0; j: in [u_{j-1}, u_j); k: >= u_last
        first, last = gap == 0, gap == k
        gap_sums[0] = float(np.sum(ref_values[0] - present[first]))
        gap_sums[k] = float(np.sum(present[last] - ref_values[-1]))
        inner = ~first & ~last & (present != ref_values[np.maximum(gap - 1, 0)])
        gap_sums[1:k] = np.bincount(gap[inner] - 1, weights=ref_values[gap[inner]] - present[inner], minlength=k - 1)[
            : k - 1
        ]
    return NumericCounts(int(present.size), psi_counts, at_or_below, below, gap_sums)


def column_counts(client: Any, column: Any, ref_values: np.ndarray, edges: np.ndarray) -> NumericCounts:
    """`partition_counts` of every partition of dask Series `column`, summed in a tree on the cluster."""
    from dask import delayed

    count = delayed(partition_counts, pure=True)
    level = [count(part, ref_values, edges) for part in column.to_delayed()]
    if not level:  # no partitions: no current values
        return partition_counts(np.empty(0), ref_values, edges)
    add = delayed(lambda a, b: a + b, pure=True)
    while len(level) > 1:
        level = [add(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return results(client, [client.compute(level[0], retries=2)])[0]


def ks_from_counts(ref_at_or_below: np.ndarray, n: int, counts: NumericCounts) -> float:
    """sup |F_ref - F_cur| from the counts at the reference's distinct values."""
    m = counts.present
    f_ref = ref_at_or_below / n
    at = np.abs(f_ref - counts.at_or_below / m)
    before = np.abs(np.concatenate([[0.0], f_ref[:-1]]) - counts.below / m)  # just below each reference value
    return float(max(at.max(), before.max()))


def crossing_gaps(ref_at_or_below: np.ndarray, n: int, counts: NumericCounts) -> np.ndarray:
    """The gaps k (between reference values u_k and u_k+1) inside which F_cur crosses F_ref's level."""
    if ref_at_or_below.size < 2 or not counts.present:
        return np.empty(0, dtype=np.int64)
    level = ref_at_or_below[:-1] / n
    start = counts.at_or_below[:-1] / counts.present
    end = counts.below[1:] / counts.present
    return np.flatnonzero((level > start) & (level < end))


def partition_in_gaps(values: Any, ref_values: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gap index, value) of one partition's values strictly inside the given gaps."""
    array = np.asarray(values, dtype="float64")
    present = array[~np.isnan(array)]
    gap = np.searchsorted(ref_values, present, side="right") - 1
    inside = np.isin(gap, gaps) & (present != ref_values[np.clip(gap, 0, None)]) & (gap >= 0)
    return gap[inside], present[inside]


def values_in_gaps(client: Any, column: Any, ref_values: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The current values inside `gaps` (the crossing gaps: few), with their gap, gathered from every partition."""
    from dask import delayed

    pick = delayed(partition_in_gaps, pure=True)
    found = results(client, client.compute([pick(part, ref_values, gaps) for part in column.to_delayed()], retries=2))
    if not found:
        return np.empty(0, dtype=np.int64), np.empty(0)
    return np.concatenate([g for g, _ in found]), np.concatenate([v for _, v in found])


def wasserstein_from_counts(
    ref_values: np.ndarray,
    ref_at_or_below: np.ndarray,
    n: int,
    counts: NumericCounts,
    inside: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """The integral of |F_ref - F_cur| over the line; `inside`: the current values in the crossing gaps
    (`values_in_gaps`), without which a crossing gap is taken as linear."""
    m = counts.present
    total = (counts.gap_sums[0] + counts.gap_sums[-1]) / m
    if ref_values.size < 2:
        return float(total)
    width = np.diff(ref_values)
    level = ref_at_or_below[:-1] / n  # F_ref on [u_k, u_{k+1})
    start = counts.at_or_below[:-1] / m  # F_cur at u_k
    end = counts.below[1:] / m  # F_cur just below u_{k+1}
    integral_cur = (counts.at_or_below[:-1] * width + counts.gap_sums[1:-1]) / m
    above = np.where(level >= end, level * width - integral_cur, 0.0)
    beneath = np.where(level <= start, integral_cur - level * width, 0.0)
    crossing = (level > start) & (level < end)
    rise = np.where(crossing, end - start, 1.0)
    linear = width * ((level - start) ** 2 + (end - level) ** 2) / (2 * rise)
    per_gap = np.where(crossing, linear, above + beneath)
    if inside is not None:
        gaps, values = inside
        for k in np.flatnonzero(crossing):
            steps = np.concatenate([[ref_values[k]], np.sort(values[gaps == k]), [ref_values[k + 1]]])
            cdf = (counts.at_or_below[k] + np.arange(steps.size - 1)) / m
            per_gap[k] = np.sum(np.abs(level[k] - cdf) * np.diff(steps))
    return float(total + np.sum(per_gap))

"""Two-sample drift statistics per column, computed with numpy/scipy over the whole data (no sampling, no I/O).

Numeric columns: the two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value (scipy's `ks_2samp(...,
method="asymp")`, computed from sorted arrays: two sorts and two binary searches, about 0.1 s per million rows),
the Wasserstein distance divided by the reference's standard deviation, and the population stability index (PSI) on
bins cut at the reference's deciles (plus one bin for missing values).
Categorical columns: PSI and the Jensen-Shannon distance on category shares, the total variation distance (the
categorical analogue of the KS statistic: the largest gap in share any set of categories shows) and the chi-squared
test's p-value.

Missing values: numeric statistics use the present values; PSI counts "missing" as a bin of its own, so a change in
the share of missing values shows. Categorical columns treat missing as a category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

PSI_FLOOR = 1e-4  # a share of 0 would make PSI infinite; the usual practice is to floor it
DECILES = 10
# Above this effective size the exact distribution of the KS statistic (scipy's kstwo, up to 0.7 s a call) and its
# limit (kstwobign) agree to within 2%; a p-value that close to 0.05 only occurs with a statistic far below 0.1.
EXACT_KS_LIMIT = 10_000
KS_GRID = 16_384  # cells of the exact KS computation on large samples (see ks_sorted)


@dataclass(frozen=True)
class NumericReference:
    """What every comparison with one numeric reference column needs, computed once.

    `sorted_values`: the present values, sorted; `edges`: PSI bin edges (the reference's deciles, unique);
    `counts`: reference rows per PSI bin (last bin: missing); `std`: standard deviation of the present values.
    """

    sorted_values: np.ndarray
    edges: np.ndarray
    counts: np.ndarray
    std: float


def numeric_reference(values: np.ndarray) -> NumericReference:
    """Sort a numeric reference column (float64, NaN = missing) and cut its PSI bins."""
    present = values[~np.isnan(values)]
    ordered = np.sort(present)
    if ordered.size:
        positions = (np.arange(DECILES) * (ordered.size - 1)) // DECILES
        edges = np.unique(ordered[positions])
    else:
        edges = np.empty(0)
    return NumericReference(ordered, edges, binned_counts(ordered, edges, values.size - present.size), _std(ordered))


def binned_counts(sorted_present: np.ndarray, edges: np.ndarray, missing: int) -> np.ndarray:
    """Rows per PSI bin of sorted present values: (-inf, e0], (e0, e1], ..., (e_last, inf), then missing."""
    at_or_below = np.searchsorted(sorted_present, edges, side="right")
    return np.diff(np.concatenate([[0], at_or_below, [sorted_present.size], [sorted_present.size + missing]]))


def bin_codes(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The PSI bin of each value (the same bins as `binned_counts`; NaN: the missing bin, len(edges) + 1)."""
    codes = np.searchsorted(edges, values, side="left")
    codes[np.isnan(values)] = edges.size + 1
    return codes


def _std(ordered: np.ndarray) -> float:
    return float(ordered.std()) if ordered.size > 1 else 0.0


def ks_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS statistic of two sorted, NaN-free arrays: sup |F_a - F_b|, exactly.

    Large inputs are first cut into cells at KS_GRID quantiles of `a`: the CDFs at the cell edges give a lower bound
    of the statistic and, per cell, an upper bound of what the cell can hold; only the cells that could exceed the
    lower bound are evaluated point by point. The same integer counts divided the same way: the result equals the
    point-by-point evaluation of every cell (`ks_in_cell` over the whole arrays), bit for bit.
    """
    n, m = a.size, b.size
    if n + m <= 4 * KS_GRID:
        return ks_in_cell(a, b, 0, 0, n, m)
    grid = np.unique(a[np.linspace(0, n - 1, KS_GRID).astype(np.int64)])
    at_a = np.searchsorted(a, grid, side="right")
    at_b = np.searchsorted(b, grid, side="right")
    lower = float(np.abs(at_a / n - at_b / m).max())
    # Cells (-inf, g0], (g0, g1], ..., (g_last, inf). Left of its right end r, a cell's F_a is at most
    # F_a(r-) and F_b at least F_b at the left end (and the other way round); at r the value is known exactly.
    a_lo, a_hi = np.concatenate([[0], at_a]), np.concatenate([at_a, [n]])
    b_lo, b_hi = np.concatenate([[0], at_b]), np.concatenate([at_b, [m]])
    a_left = np.concatenate([np.searchsorted(a, grid, side="left"), [n]])
    b_left = np.concatenate([np.searchsorted(b, grid, side="left"), [m]])
    at_right = a_hi / n - b_hi / m
    upper = np.maximum.reduce([a_left / n - b_lo / m, at_right, b_left / m - a_lo / n, -at_right])
    open_cells = np.flatnonzero(upper > lower)
    points = (a_hi - a_lo + b_hi - b_lo)[open_cells].sum()
    if points > (n + m) // 4 or open_cells.size > KS_GRID // 4:
        return ks_in_cell(a, b, 0, 0, n, m)
    best = lower
    for k in open_cells:
        best = max(best, ks_in_cell(a[a_lo[k] : a_hi[k]], b[b_lo[k] : b_hi[k]], int(a_lo[k]), int(b_lo[k]), n, m))
    return best


def ks_in_cell(a: np.ndarray, b: np.ndarray, a_before: int, b_before: int, n: int, m: int) -> float:
    """Largest |F_a - F_b| at the points of sorted `a` and `b` (a cell of the whole samples, with `a_before` and
    `b_before` points of each below it; n and m: the whole samples' sizes).

    F_a - F_b only rises at points of `a` and only falls at points of `b`, so its maximum is at a point of `a` and
    its minimum at a point of `b`: two binary searches instead of evaluating both CDFs on the union.
    """
    best = 0.0
    if a.size:
        above = (a_before + np.arange(1, a.size + 1)) / n - (b_before + np.searchsorted(b, a, side="right")) / m
        best = max(best, float(above.max()))
    if b.size:
        below = (b_before + np.arange(1, b.size + 1)) / m - (a_before + np.searchsorted(a, b, side="right")) / n
        best = max(best, float(below.max()))
    return best


def ks_p_value(statistic: float, n: int, m: int) -> float:
    """Asymptotic two-sided p-value of the KS statistic, as scipy's `ks_2samp(..., method="asymp")` computes it."""
    big, small = max(n, m), min(n, m)
    effective = big * small / (big + small)
    if effective <= EXACT_KS_LIMIT:
        return float(np.clip(stats.kstwo.sf(statistic, np.round(effective)), 0.0, 1.0))
    return float(np.clip(stats.kstwobign.sf(statistic * np.sqrt(effective)), 0.0, 1.0))


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 distance of two sorted, NaN-free arrays: the integral of |Q_a(u) - Q_b(u)| over u in (0, 1)."""
    if a.size == b.size:
        return float(np.abs(a - b).mean())
    # As scipy.stats.wasserstein_distance: integrate |F_a - F_b| between consecutive points of the merged sample.
    merged = np.sort(np.concatenate([a, b]), kind="stable")  # two sorted runs: a linear merge
    cdf_a = np.searchsorted(a, merged[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, merged[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * np.diff(merged)))


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index sum((q - p) ln(q / p)) of two count vectors over the same bins (shares floored)."""
    p = np.maximum(reference_counts / max(reference_counts.sum(), 1), PSI_FLOOR)
    q = np.maximum(current_counts / max(current_counts.sum(), 1), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_statistics(reference: NumericReference, current: np.ndarray) -> dict[str, float]:
    """KS statistic and p-value, normalised Wasserstein distance and PSI of a current column against a reference.

    `current` is float64 with NaN for missing. KS and Wasserstein need present values on both sides; with none on
    either side they are NaN.
    """
    present = current[~np.isnan(current)]
    ordered = np.sort(present)
    counts = binned_counts(ordered, reference.edges, current.size - present.size)
    result = {"psi": psi(reference.counts, counts)}
    if ordered.size and reference.sorted_values.size:
        statistic = ks_sorted(reference.sorted_values, ordered)
        distance = wasserstein_sorted(reference.sorted_values, ordered)
        result |= {
            "ks_statistic": statistic,
            "ks_p": ks_p_value(statistic, reference.sorted_values.size, ordered.size),
            "wasserstein_std": distance / reference.std if reference.std > 0 else (0.0 if distance == 0 else np.inf),
        }
    else:
        result |= {"ks_statistic": np.nan, "ks_p": np.nan, "wasserstein_std": np.nan}
    return result


def categorical_statistics(reference_counts: np.ndarray, current_counts: np.ndarray) -> dict[str, float]:
    """PSI, Jensen-Shannon distance (base 2, 0..1), total variation distance and chi-squared p-value of two count
    vectors over the same categories (the union of both sides' categories)."""
    p = reference_counts / max(reference_counts.sum(), 1)
    q = current_counts / max(current_counts.sum(), 1)
    seen = (reference_counts + current_counts) > 0
    if seen.sum() > 1:
        table = np.vstack([reference_counts[seen], current_counts[seen]])
        chi2_p = float(stats.chi2_contingency(table, correction=False).pvalue)
    else:
        chi2_p = 1.0
    midpoint = (p + q) / 2
    js = np.sqrt(max(0.0, (_kl(p, midpoint) + _kl(q, midpoint)) / 2))
    return {
        "psi": psi(reference_counts, current_counts),
        "jensen_shannon": float(js),
        "total_variation": float(np.abs(p - q).sum() / 2),
        "chi2_p": chi2_p,
    }


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    inside = p > 0
    return float(np.sum(p[inside] * np.log2(p[inside] / q[inside])))

"""Calibrated per-column verdicts: is the current window's score outside what the reference itself shows?

A window of a month never looks like a whole reference of clustered data (weather, calendar, traffic): every
fixed threshold on a drift score cries wolf on such data. So each column's scores against the reference are compared
with the same scores of windows of the SAME size cut from the reference, each measured against the rest of the
reference and against the whole (the larger counts):
- contiguous windows, evenly spaced over the reference in time order (random samples would understate the spread
  of clustered data), at least `reference_windows` of them and at most 1/8 of a window apart;
- for seasonal data, the windows of earlier years' same season, where the reference holds them.
Scores: PSI on reference-decile bins (categories for a categorical column); for a numeric column also the mean
shift in reference standard deviations and the spread change |ln std ratio|, which keep growing where PSI
saturates. A column is outside the reference when any score exceeds the largest reference window's by more than a
margin. It drifts when it is outside AND the books' rule holds (KS p < 0.05 with statistic > 0.1; for a categorical
column, the chi-squared p-value and the total variation distance). Pure functions, deterministic, no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tasks.monitoring.drift_stats import psi

OVERLAP = 8  # consecutive reference windows are at most 1/8 of a window apart


@dataclass(frozen=True)
class ReferenceWindows:
    """Where the calibration windows start (row positions in time order), their size, and how many of them are
    earlier years' same season (the last `same_season` starts)."""

    starts: tuple[int, ...]
    rows: int
    same_season: int = 0


@dataclass(frozen=True)
class Calibration:
    """The spread of a score over the reference windows, and the threshold a current score must exceed."""

    maximum: float
    p95: float
    median: float
    threshold: float


def calibration_window_rows(reference_rows: int, window_rows: int) -> int:
    """Rows per reference window: the current window's size, at most half the reference (a window must leave a
    rest to be compared with). Smaller windows vary more, so a capped size only makes the threshold stricter."""
    if reference_rows < 2:
        raise ValueError(f"the reference has {reference_rows} row(s); at least 2 are needed to cut windows")
    if window_rows < 1:
        raise ValueError(f"window_rows must be at least 1, got {window_rows}")
    return max(1, min(window_rows, reference_rows // 2))


def evenly_spaced_starts(reference_rows: int, window_rows: int, count: int) -> tuple[int, ...]:
    """Window starts spread evenly from the reference's first row to its last full window (deduplicated): at least
    `count` of them, and enough that consecutive windows share all but 1/OVERLAP of their rows (a window cut
    anywhere in the reference is then nearly one of them: every window's scores are cheap, counted in blocks)."""
    if count < 1:
        raise ValueError(f"reference_windows must be at least 1, got {count}")
    last = reference_rows - window_rows
    count = max(count, int(np.ceil(OVERLAP * last / window_rows)) + 1)
    return tuple(sorted({int(s) for s in np.round(np.linspace(0, last, count))}))


def same_season_starts(
    reference_times: pd.Series, current_start: pd.Timestamp, window_rows: int, earliest_years: int = 50
) -> tuple[int, ...]:
    """Starts of the windows beginning one, two, ... years before the current window, where the reference
    (sorted by time) holds a full window there."""
    times = reference_times.to_numpy(dtype="datetime64[ns]")
    starts: list[int] = []
    for years in range(1, earliest_years + 1):
        moment = current_start - pd.DateOffset(years=years)
        if times.size == 0 or np.datetime64(moment) < times[0]:
            break
        start = int(np.searchsorted(times, np.datetime64(moment), side="left"))
        if start + window_rows <= times.size:
            starts.append(start)
    return tuple(starts)


def _bounds(size: int, windows: ReferenceWindows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(block bounds, each window's first block, each window's end block): the reference cut at every window's
    start and end, so overlapping windows share their blocks and every row is read once."""
    starts = np.asarray(windows.starts, dtype=np.int64)
    bounds = np.unique(np.concatenate([[0, size], starts, starts + windows.rows]))
    return bounds, np.searchsorted(bounds, starts), np.searchsorted(bounds, starts + windows.rows)


def window_scores(codes: np.ndarray, bins: int, windows: ReferenceWindows) -> np.ndarray:
    """PSI of each reference window against the rest of the reference or against the whole, whichever is larger
    (see `calibrate`), from the reference's bin codes in time order (0..bins-1)."""
    bounds, first, last = _bounds(codes.size, windows)
    blocks = [np.bincount(codes[lo:hi], minlength=bins) for lo, hi in itertools.pairwise(bounds)]
    cumulative = np.vstack([np.zeros(bins, dtype=np.int64), np.cumsum(blocks, axis=0)])
    total = cumulative[-1]
    windows_counts = cumulative[last] - cumulative[first]
    return np.array([max(psi(total - inside, inside), psi(total, inside)) for inside in windows_counts])


def _moments(count: np.ndarray, total: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        return mean, np.sqrt(np.maximum(squares / count - mean**2, 0.0))


def _moment_scores(
    mean_a: np.ndarray, std_a: np.ndarray, mean_b: np.ndarray, std_b: np.ndarray, scale: float
) -> dict[str, np.ndarray]:
    tiny = 1e-9 * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.abs(mean_a - mean_b) / scale
        spread = np.abs(np.log((std_a + tiny) / (std_b + tiny)))
    return {"mean_shift": np.nan_to_num(shift), "std_ratio": np.nan_to_num(spread)}


def moment_window_scores(
    values: np.ndarray, windows: ReferenceWindows, center: float, scale: float
) -> dict[str, np.ndarray]:
    """Mean shift (in reference standard deviations) and spread change (|ln of the std ratio|) of each reference
    window against the rest or the whole reference, whichever is larger, from the reference's values in time order
    (NaN: missing). These keep growing where PSI
    saturates (a window whose values all lie outside the other's range)."""
    bounds, first, last = _bounds(values.size, windows)
    present = ~np.isnan(values)
    centred = np.where(present, values - center, 0.0)
    sums = [np.add.reduceat(x, bounds[:-1]) for x in (present.astype(np.float64), centred, centred**2)]
    cumulative = [np.concatenate([[0.0], np.cumsum(x)]) for x in sums]
    inside = [c[last] - c[first] for c in cumulative]
    rest = [c[-1] - i for c, i in zip(cumulative, inside, strict=True)]
    whole = [np.full(len(windows.starts), c[-1]) for c in cumulative]
    against_rest = _moment_scores(*_moments(*inside), *_moments(*rest), scale)
    against_whole = _moment_scores(*_moments(*inside), *_moments(*whole), scale)
    return {name: np.maximum(against_rest[name], against_whole[name]) for name in against_rest}


def moment_scores(reference_std: float, current: np.ndarray, center: float, scale: float) -> dict[str, float]:
    """The scores of `moment_window_scores` for a current window against the whole reference (mean `center`)."""
    present = current[~np.isnan(current)] - center
    mean, std = _moments(np.array([present.size]), np.array([present.sum()]), np.array([(present**2).sum()]))
    found = _moment_scores(mean, std, np.zeros(1), np.array([reference_std]), scale)
    return {name: float(value[0]) for name, value in found.items()}


def calibrate(scores: np.ndarray, margin: float) -> Calibration:
    """Threshold = the largest reference window's score times (1 + margin).

    Each window's score is the larger of two: against the whole reference (what the current window is compared
    with, so a window cut from the reference scores the same as a calibration window in its place) and against the
    rest of the reference (what a window the reference never held looks like beside it).
    """
    maximum = float(scores.max())
    return Calibration(
        maximum=maximum,
        p95=float(np.quantile(scores, 0.95)),
        median=float(np.median(scores)),
        threshold=maximum * (1.0 + margin),
    )


@dataclass(frozen=True)
class ColumnVerdict:
    outside_reference: bool
    books_rule: bool
    drifted: bool
    why: str


SCORE_NAMES = {"psi": "PSI", "mean_shift": "mean shift (reference stds)", "std_ratio": "spread change |ln std ratio|"}


def column_verdict(
    scores: dict[str, tuple[float, Calibration]],
    statistic: float,
    p_value: float,
    *,
    test: str,
    max_p: float,
    min_statistic: float,
    expected_to_change: bool,
    weight: float,
) -> ColumnVerdict:
    """Combine the calibrated scores and the books' rule into one column's verdict, with the reason in words.

    `scores`: name -> (current value, calibration over the reference windows), PSI first; the column is outside the
    reference when any score exceeds its threshold. `test` names the statistic ("KS" or "total variation (chi2
    p)"). An expected-to-change column, or one of weight 0, is measured and explained but never drifts.
    """

    def told(name: str) -> str:
        value, calibration = scores[name]
        side = "above" if value > calibration.threshold else "within"
        return (
            f"{SCORE_NAMES.get(name, name)} {value:.4g} {side} the reference windows' spread "
            f"(max {calibration.maximum:.4g}, threshold {calibration.threshold:.4g})"
        )

    exceeding = [name for name, (value, calibration) in scores.items() if value > calibration.threshold]
    outside = bool(exceeding)
    books = bool(np.isfinite(p_value) and p_value < max_p and statistic > min_statistic)
    where = "; ".join(told(name) for name in exceeding) if exceeding else told(next(iter(scores)))
    rule = (
        f"{test} statistic {statistic:.3g} with p {p_value:.3g} "
        f"{'meets' if books else 'does not meet'} the books' rule (p < {max_p:g} and statistic > {min_statistic:g})"
    )
    drifted = outside and books
    if expected_to_change:
        why = f"expected to change: not counted ({where}; {rule})"
        drifted = False
    elif weight <= 0:
        why = f"weight 0: not counted ({where}; {rule})"
        drifted = False
    elif drifted:
        why = f"drifted: {where}, and {rule}"
    elif outside:
        why = f"no drift: {where}, but {rule}"
    else:
        why = f"no drift: {where}"
    return ColumnVerdict(outside, books, drifted, why)


def weighted_share(drifted: Sequence[str], weights: dict[str, float]) -> float:
    """Weight of the drifted columns over the weight of all counted columns (0 when none count)."""
    total = sum(weights.values())
    return float(sum(weights[c] for c in drifted) / total) if total > 0 else 0.0

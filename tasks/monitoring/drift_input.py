"""What the calibrated drift engine is given: its settings, the checks of its input, and the columns as arrays.

`DriftSettings` are params.yaml's `monitoring.drift` (`drift_settings` reads them, the one place they are set). Bad
input (a column missing, a non-numeric value in a numeric column, bad settings, weights or time column) raises
`DriftInputError` (a ValueError) naming the column or setting. Numeric columns are read as float64, categorical ones
as codes into the union of both sides' categories. The verdicts that use them: tasks/monitoring/data_drift.py
(`assess`) and tasks/monitoring/prediction_signals.py (`prediction_drift`, `performance`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError

WORKERS = 2


class DriftInputError(PipelineError, ValueError):
    """Input the monitor cannot compare (a missing column, a non-numeric value, bad settings); the message names it."""


@dataclass(frozen=True)
class DriftSettings:
    """How a window is judged. `window_rows`: size of the reference windows (None: the current window's size);
    `margin`: how far (relative) above the largest reference window's score a column must be;
    `adversarial_rows`: rows per side for the classifier (0 switches it off); `adversarial_reference_windows`:
    reference windows the classifier is calibrated on; `min_weighted_drift`: the weighted share of drifted columns
    the data-drift signal needs to exceed."""

    window_rows: int | None = None
    reference_windows: int = 20
    expected_to_change: tuple[str, ...] = ()
    weights: Mapping[str, float] | None = None
    ks_p: float = 0.05
    ks_statistic: float = 0.1
    adversarial_auc: float = 0.75
    adversarial_rows: int = 20_000
    seed: int = 0
    margin: float = 0.1
    adversarial_reference_windows: int = 5
    min_weighted_drift: float = 0.0
    workers: int = field(default=WORKERS, compare=False)


def drift_settings(values: Mapping[str, Any]) -> DriftSettings:
    """The engine's settings from params.yaml's `monitoring.drift` (the one place they are set: the monitoring loop
    and the DVC `monitor` stage both read them); a PipelineError naming an unknown key."""
    known = {f.name for f in dataclasses.fields(DriftSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise PipelineError(
            f"params.yaml: monitoring.drift has unknown key(s) {unknown}; expected some of {sorted(known)}"
        )
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return DriftSettings(**converted)


# --- input ------------------------------------------------------------------------------------------------------


def check_settings(settings: DriftSettings) -> None:
    checks = {
        "window_rows": settings.window_rows is None or settings.window_rows >= 1,
        "reference_windows": settings.reference_windows >= 1,
        "ks_p": 0 < settings.ks_p < 1,
        "ks_statistic": 0 <= settings.ks_statistic < 1,
        "adversarial_auc": 0.5 <= settings.adversarial_auc <= 1,
        "adversarial_rows": settings.adversarial_rows >= 0,
        "adversarial_reference_windows": settings.adversarial_reference_windows >= 0,
        "margin": settings.margin >= 0,
        "min_weighted_drift": 0 <= settings.min_weighted_drift < 1,
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise DriftInputError(f"drift settings out of range: {', '.join(f'{b}={getattr(settings, b)!r}' for b in bad)}")


def check_columns(frames: Mapping[str, pd.DataFrame], numeric: Sequence[str], categorical: Sequence[str]) -> None:
    both = set(numeric) & set(categorical)
    if both:
        raise DriftInputError(f"columns {sorted(both)} are listed as both numeric and categorical")
    if not [*numeric, *categorical]:
        raise DriftInputError("no columns to compare: numeric and categorical are both empty")
    for side, frame in frames.items():
        missing = [c for c in [*numeric, *categorical] if c not in frame.columns]
        if missing:
            raise DriftInputError(f"column {missing[0]!r} is missing from the {side} data (missing: {missing})")
        if frame.empty:
            raise DriftInputError(f"the {side} data has no rows")


def numeric_values(series: pd.Series, side: str) -> np.ndarray:
    """A numeric column as float64 (missing: NaN); DriftInputError naming the column and a non-numeric value."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        value = series[bad].iloc[0]
        raise DriftInputError(
            f"column {series.name!r} of the {side} data should be numeric, but holds {value!r} "
            f"({int(bad.sum())} value(s) that are not numbers)"
        )
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def categorical_codes(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Both sides' values as codes into the union of their categories, ordered by (type, text) so the codes do not
    depend on row order; missing values get the last code, len(categories)."""
    ref_codes, ref_uniques = pd.factorize(reference)
    cur_codes, cur_uniques = pd.factorize(current)
    union = list(dict.fromkeys([*ref_uniques, *cur_uniques]))
    categories = sorted(union, key=lambda v: (type(v).__name__, str(v)))
    index = pd.Index(categories, dtype=object)
    missing = len(categories)

    def recode(codes: np.ndarray, uniques: Any) -> np.ndarray:
        lookup = np.append(index.get_indexer(pd.Index(list(uniques), dtype=object)), missing)
        return lookup[codes]  # code -1 (missing) picks the appended last entry

    return recode(ref_codes, ref_uniques), recode(cur_codes, cur_uniques), categories


def time_values(frame: pd.DataFrame, column: str, side: str) -> pd.Series:
    if column not in frame.columns:
        raise DriftInputError(f"time column {column!r} is missing from the {side} data")
    times = pd.to_datetime(frame[column], errors="coerce")
    if times.isna().any():
        raise DriftInputError(f"time column {column!r} of the {side} data has values that are not timestamps")
    return times


def column_weights(settings: DriftSettings, columns: Sequence[str]) -> dict[str, float]:
    if settings.weights is None:
        return dict.fromkeys(columns, 1.0)
    missing = [c for c in columns if c not in settings.weights]
    if missing:
        raise DriftInputError(f"weights has no entry for column {missing[0]!r}; give every compared column a weight")
    weights = {c: float(settings.weights[c]) for c in columns}
    bad = [c for c, w in weights.items() if not (math.isfinite(w) and w >= 0)]
    if bad:
        raise DriftInputError(f"weight of column {bad[0]!r} must be a finite number >= 0, got {weights[bad[0]]!r}")
    return weights

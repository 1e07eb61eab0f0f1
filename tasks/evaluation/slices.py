"""Slices of the test data named in params.yaml (`evaluate.slices`), and metrics per slice to show where a model fails.

A slice is a column's values (`{column: weathersit}`) or bands of a numeric column
(`{column: hr, name: hour_band, bins: [0, 6, 10, 16, 20, 24], labels: [...]}`, left-closed: [0, 6), [6, 10), ...).
Any column of the test split may be sliced, the target included (demand bands show error in business terms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError

KEY = "evaluate.slices"


@dataclass(frozen=True)
class SliceSpec:
    name: str
    column: str
    bins: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None

    def band_labels(self) -> list[str]:
        """Names of the bands in order (empty for a slice by value)."""
        if self.bins is None:
            return []
        pairs = pairwise(self.bins)
        return list(self.labels) if self.labels else [f"[{lo:g}, {hi:g})" for lo, hi in pairs]

    def values(self, frame: pd.DataFrame) -> pd.Series:
        """The slice value (a label) of each row of `frame`; rows outside every band get "other"."""
        column = frame[self.column]
        if self.bins is None:
            return column.astype(str)
        banded = pd.cut(pd.to_numeric(column), bins=list(self.bins), labels=self.band_labels(), right=False)
        return banded.astype(object).where(banded.notna(), "other").astype(str)


def parse_slices(raw: Any, columns: Sequence[str], source: str = "params.yaml") -> list[SliceSpec]:
    """Check `evaluate.slices` against the test split's `columns`; a PipelineError names the bad entry."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PipelineError(f"{source}: '{KEY}' must be a list of {{column: ...}} entries, got {raw!r}")
    slices: list[SliceSpec] = []
    for i, entry in enumerate(raw):
        where = f"{source}: '{KEY}[{i}]'"
        if isinstance(entry, str):
            entry = {"column": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("column"), str):
            raise PipelineError(f"{where} must be a column name or a mapping with 'column', got {entry!r}")
        unknown = set(entry) - {"column", "name", "bins", "labels"}
        if unknown:
            raise PipelineError(f"{where}: unknown keys {sorted(unknown)}; expected column, name, bins, labels")
        column = entry["column"]
        if column not in columns:
            raise PipelineError(f"{where}: column '{column}' is not in the test split; columns: {sorted(columns)}")
        bins, labels = entry.get("bins"), entry.get("labels")
        if bins is not None:
            numbers = isinstance(bins, list) and all(isinstance(b, int | float) for b in bins)
            if not numbers or len(bins) < 2 or any(b >= c for b, c in pairwise(bins)):
                raise PipelineError(f"{where}: 'bins' must be an increasing list of at least two numbers, got {bins!r}")
            if labels is not None and (not isinstance(labels, list) or len(labels) != len(bins) - 1):
                raise PipelineError(f"{where}: 'labels' must list {len(bins) - 1} names (one per band), got {labels!r}")
        elif labels is not None:
            raise PipelineError(f"{where}: 'labels' needs 'bins'")
        name = str(entry.get("name", column))
        if any(s.name == name for s in slices):
            raise PipelineError(f"{where}: slice name '{name}' is used twice; give one a different 'name'")
        slices.append(
            SliceSpec(
                name=name,
                column=column,
                bins=tuple(float(b) for b in bins) if bins is not None else None,
                labels=tuple(str(label) for label in labels) if labels is not None else None,
            )
        )
    return slices


def metrics_by_slice(
    frame: pd.DataFrame,
    slices: Sequence[SliceSpec],
    actual: np.ndarray,
    predicted: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], dict[str, Any]],
) -> list[dict[str, Any]]:
    """One row per (slice, value): the rows it holds and `score(actual, predicted)` on them.

    `actual` and `predicted` are aligned with `frame` (predicted may be 2-D class probabilities). Values come in
    band order for banded slices, else sorted.
    """
    rows: list[dict[str, Any]] = []
    for spec in slices:
        values = spec.values(frame).to_numpy()
        order = spec.band_labels()
        present = pd.unique(values).tolist()
        ordered = [v for v in order if v in present] + sorted(v for v in present if v not in order)
        for value in ordered:
            mask = values == value
            rows.append(
                {
                    "slice": spec.name,
                    "value": value,
                    "rows": int(mask.sum()),
                    **score(actual[mask], predicted[mask]),
                }
            )
    return rows

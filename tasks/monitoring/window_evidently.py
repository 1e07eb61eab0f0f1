"""Evidently's own page for one production window: its DataDriftPreset over the model's inputs and the served
prediction, the window's rows against the production version's training data (with the version's own outputs on it).

Written beside the window's verdict as `windows/<model>-v<version>-<window id>-evidently.html` and linked from the
window's page and reports/monitoring/index.html. The page is self-contained (Evidently inlines its scripts; nothing is
loaded from the network). It draws the distributions for a person asking "why did it alarm"; the verdict is the
calibrated rule's (tasks/monitoring/data_drift.py), never Evidently's uncalibrated headline. Both sides are sampled to
at most `max_rows` rows (seeded, so a re-run draws the same rows): Evidently's cost grows with the rows (44 s for 1M,
tests/benchmarks/bench_drift.py) while the pictures do not change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.core.atomic import atomic_file
from tasks.monitoring.history import WINDOWS_DIR, window_stem

EVIDENTLY_SUFFIX = "-evidently.html"
PREDICTION = "prediction"


def evidently_name(model: str, version: int, window_id: str) -> str:
    """The page's file name under windows/."""
    return f"{window_stem(model, version, window_id)}{EVIDENTLY_SUFFIX}"


def _sample(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    return frame.sample(max_rows, random_state=0) if len(frame) > max_rows else frame


def comparison_frames(
    reference: pd.DataFrame,
    reference_outputs: np.ndarray,
    rows: pd.DataFrame,
    columns: list[str],
    max_rows: int,
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(reference side, window side, with the prediction?): the input columns, plus `prediction` where the model
    has one output (a regression; class probabilities are compared on the window's page instead). Refused rows have
    no prediction: they are left out of that column only."""
    flat = np.asarray(reference_outputs, dtype=float).reshape(len(reference_outputs), -1)
    with_prediction = flat.shape[1] == 1 and PREDICTION in rows
    ref = reference[columns].reset_index(drop=True)
    cur = rows[columns].reset_index(drop=True)
    if with_prediction:
        ref = ref.assign(**{PREDICTION: flat[:, 0]})
        served = pd.to_numeric(rows[PREDICTION].reset_index(drop=True), errors="coerce")
        cur = cur.assign(**{PREDICTION: served.to_numpy(dtype=float)})
    return _sample(ref, max_rows), _sample(cur, max_rows), with_prediction


def write_evidently_page(
    out_dir: Path,
    model: str,
    version: int,
    window_id: str,
    reference: pd.DataFrame,
    reference_outputs: np.ndarray,
    rows: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    max_rows: int = 5000,
) -> Path:
    """Run Evidently's DataDriftPreset for the window and write its HTML atomically; the path."""
    from tasks.monitoring.drift import evidently_snapshot

    ref, cur, with_prediction = comparison_frames(
        reference, reference_outputs, rows, [*numeric, *categorical], max_rows
    )
    snapshot = evidently_snapshot(ref, cur, [*numeric, *([PREDICTION] if with_prediction else [])], categorical)
    path = out_dir / WINDOWS_DIR / evidently_name(model, version, window_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        snapshot.save_html(str(tmp))
    return path

"""What monitoring keeps: each window's verdict as JSON, and the scores of every window in one Parquet history.

Files, under `monitoring.reports` (default reports/monitoring/, git-ignored and outside DVC, like the model store):
- `windows/<model>-v<version>-<window id>.json`: the window's verdict (per-column scores, thresholds, signals fired
  and why). No clock time in it: a re-run of the same window on the same data writes the same bytes.
- `history.parquet`: one row per window x signal (`data_drift`, `adversarial`, `prediction_drift`, `performance`):
  the score,
  its threshold, whether it fired. A re-run of a window replaces that window's rows, never duplicates them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.atomic import atomic_file, write_text
from tasks.core.reproducible import rounded

HISTORY_FILE = "history.parquet"
WINDOWS_DIR = "windows"
KEY = ["model", "version", "window_id"]
HISTORY_COLUMNS = [
    *KEY,
    "window_from",
    "window_to",
    "signal",
    "score",
    "threshold",
    "fired",
    "rows",
    "labelled_rows",
    "verdict",
]


def window_stem(model: str, version: int, window_id: str) -> str:
    return f"{model}-v{version}-{window_id}"


def verdict_json(verdict: dict[str, Any]) -> str:
    """The verdict as written: keys sorted, floats rounded to 6 digits, so equal results give equal bytes."""
    return json.dumps(rounded(verdict, 6), indent=2, sort_keys=True, default=str) + "\n"


def write_verdict(out_dir: Path, verdict: dict[str, Any]) -> Path:
    path = out_dir / WINDOWS_DIR / f"{window_stem(verdict['model'], verdict['version'], verdict['window']['id'])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = verdict_json(verdict)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:  # unchanged files keep their time stamps
        write_text(path, text)
    return path


def history_rows(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per signal of a window's verdict (a signal that was not measured, e.g. performance without ground
    truth, has no row)."""
    rows = []
    for signal, measured in verdict["signals"].items():
        if measured.get("score") is None:
            continue
        rows.append(
            {
                "model": verdict["model"],
                "version": int(verdict["version"]),
                "window_id": verdict["window"]["id"],
                "window_from": verdict["window"]["from"],
                "window_to": verdict["window"]["to"],
                "signal": signal,
                "score": float(measured["score"]),
                "threshold": None if measured.get("threshold") is None else float(measured["threshold"]),
                "fired": bool(measured["fired"]),
                "rows": int(verdict["rows"]),
                "labelled_rows": int(verdict["labelled_rows"]),
                "verdict": verdict["verdict"],
            }
        )
    return rows


def read_history(out_dir: Path) -> pd.DataFrame:
    path = out_dir / HISTORY_FILE
    if not path.is_file():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.read_parquet(path)


def record_windows(out_dir: Path, verdicts: list[dict[str, Any]]) -> pd.DataFrame:
    """Replace these windows' rows in the history (appending new windows) and write it atomically; the history."""
    history = read_history(out_dir)
    if not verdicts:
        return history
    new = pd.DataFrame([row for v in verdicts for row in history_rows(v)], columns=HISTORY_COLUMNS)
    replaced = {(v["model"], int(v["version"]), v["window"]["id"]) for v in verdicts}
    keep = ~pd.Series([tuple(k) in replaced for k in history[KEY].itertuples(index=False)], index=history.index)
    parts = [frame for frame in (history[keep], new) if not frame.empty]
    merged = pd.concat(parts, ignore_index=True) if parts else new
    merged = merged.astype({"version": "int64", "rows": "int64", "labelled_rows": "int64", "fired": "bool"})
    merged = merged.sort_values(["model", "window_from", "version", "window_id", "signal"], kind="stable")
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_file(out_dir / HISTORY_FILE) as tmp:
        merged.reset_index(drop=True).to_parquet(tmp, index=False)
    return merged.reset_index(drop=True)


def assessed_sizes(history: pd.DataFrame, model: str, version: int) -> dict[str, tuple[int, int]]:
    """window id -> (rows, labelled rows) when it was last assessed: a window is assessed again only when its
    rows or its ground truth changed."""
    mine = history[(history["model"] == model) & (history["version"] == version)]
    return {
        str(row.window_id): (int(row.rows), int(row.labelled_rows))
        for row in mine.drop_duplicates("window_id", keep="last").itertuples(index=False)
    }

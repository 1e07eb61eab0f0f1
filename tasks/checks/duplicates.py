"""Rows that repeat another row in every column: how many, whether within one file or across files, and up to
`sample_size` of them with the file and line of every occurrence.

Streamed like the other checks: 8 bytes of hash and 12 bytes of origin per row; the repeated rows' values are
fetched at the end through `lookup` (positions -> rows), so memory stays bounded. `validate.duplicate_severity`
(critical or warning) and `validate.max_duplicate_share` (the share of rows that may repeat an earlier one, default
0) say when it fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.checks.expectation_check import ExpectationResult

ORIGIN_FILE = "__file__"  # collect's columns: the index of the row's file in the manifest's sources ...
ORIGIN_LINE = "__line__"  # ... and its line in that file (1-based; comment and blank lines counted)
ORIGIN_COLUMNS = (ORIGIN_FILE, ORIGIN_LINE)


class DuplicateRows:
    def __init__(self, severity: str = "critical", max_share: float = 0.0, sample_size: int = 5) -> None:
        self.severity, self.max_share, self.sample_size = severity, max_share, sample_size
        self.hashes: list[np.ndarray] = []
        self.files: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []
        self.rows = 0

    def update(self, chunk: pd.DataFrame, origin: pd.DataFrame | None = None) -> None:
        n = len(chunk)
        self.hashes.append(pd.util.hash_pandas_object(chunk, index=False).to_numpy().view("int64"))
        if origin is not None and set(ORIGIN_COLUMNS) <= set(origin.columns):
            self.files.append(origin[ORIGIN_FILE].to_numpy(dtype="int32"))
            self.lines.append(origin[ORIGIN_LINE].to_numpy(dtype="int64"))
        else:
            self.files.append(np.full(n, -1, dtype="int32"))
            self.lines.append(np.arange(self.rows + 1, self.rows + n + 1, dtype="int64"))
        self.rows += n

    def finish(
        self, sources: list[str] | None = None, lookup: Callable[[list[int]], pd.DataFrame] | None = None
    ) -> ExpectationResult:
        hashes = np.concatenate(self.hashes) if self.hashes else np.empty(0, dtype="int64")
        files = np.concatenate(self.files) if self.files else np.empty(0, dtype="int32")
        lines = np.concatenate(self.lines) if self.lines else np.empty(0, dtype="int64")
        self.hashes, self.files, self.lines = [], [], []
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]]) if len(hashes) else []
        groups = [order[a:b] for a, b in zip(starts, [*starts[1:], len(hashes)], strict=True) if b - a > 1]
        groups.sort(key=lambda g: int(g[0]))  # in the order the first occurrences come
        repeats = sum(len(g) - 1 for g in groups)
        across = sum(len(g) - 1 for g in groups if len(set(files[g].tolist())) > 1)
        names = sources or []

        def where(position: int) -> str:
            index = int(files[position])
            name = names[index] if 0 <= index < len(names) else "data/raw/data.parquet (row)"
            return f"{name} line {int(lines[position])}"

        shown = groups[: self.sample_size]
        values = lookup([int(g[0]) for g in shown]) if lookup is not None and shown else None
        examples = []
        for k, group in enumerate(shown):
            scope = "across files" if len(set(files[group].tolist())) > 1 else "within one file"
            row = "" if values is None else f"{values.iloc[k].to_dict()} "
            examples.append(f"{row}at {', '.join(where(int(p)) for p in group[:5])} ({scope})")
        share = repeats / self.rows if self.rows else 0.0
        allowed = self.max_share
        observed = (
            f"{repeats} row(s) repeat an earlier row ({share:.2%} of {self.rows}; at most {allowed:.2%} allowed, "
            f"validate.max_duplicate_share): {repeats - across} within a file, {across} across files"
        )
        if examples:
            observed += "; e.g. " + "; ".join(examples)
        return ExpectationResult(
            type="no_duplicate_rows",
            kwargs={},
            severity=self.severity,
            success=repeats <= allowed * self.rows + 1e-9,
            result={
                "observed_value": observed,
                "unexpected_count": repeats,
                "partial_unexpected_list": examples,
                "details": {"within_files": repeats - across, "across_files": across, "max_share": allowed},
            },
        )


def manifest_sources(path: Path) -> list[str]:
    """The files collect read, in the order of the manifest (the index `__file__` points into)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return [str(entry.get("uri", "?")) for entry in manifest.get("sources", [])]


def rows_at(path: Path, drop: tuple[str, ...] = ()) -> Callable[[list[int]], pd.DataFrame]:
    """Rows of the Parquet file at `path` by position, without the origin columns and `drop`."""

    def lookup(positions: list[int]) -> pd.DataFrame:
        import pyarrow.parquet as pq

        table = pq.read_table(path).take(positions).to_pandas()
        return table.drop(columns=[c for c in (*ORIGIN_COLUMNS, *drop) if c in table.columns])

    return lookup

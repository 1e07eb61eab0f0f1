"""Checks a GX suite cannot express, streamed over the same chunks: freshness, duplicate rows, target leakage.

- freshness: no timestamp after `now`; gaps between consecutive timestamps longer than `max_gap` are reported.
- duplicates: rows that repeat another row in every column (tasks/checks/duplicates.py: file and line of each).
- leakage: a column that equals the target, or two columns whose sum or difference equals the target in every row
  (`casual + registered == bikers`). Relations among the problem's declared leakage columns are reported as
  passing (those columns are dropped before featurize); a relation through any other column fails.

Each check gives an `ExpectationResult` like the suite's, so reports and messages treat all findings alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasks.checks.duplicates import DuplicateRows
from tasks.checks.expectation_check import ExpectationResult

MAX_LEAKAGE_COLUMNS = 40  # pairs grow quadratically; wider tables are checked on their first 40 numeric columns


@dataclass(frozen=True)
class CheckSettings:
    timestamp: str | None  # None: a table without time has no freshness or gap checks
    target: str
    declared_leakage: tuple[str, ...]
    now: pd.Timestamp
    max_gap: pd.Timedelta | None
    gap_severity: str = "warning"
    duplicate_severity: str = "critical"
    sample_size: int = 5
    max_duplicate_share: float = 0.0


def _result(name: str, column: str | None, success: bool, severity: str, **result: Any) -> ExpectationResult:
    kwargs = {"column": column} if column else {}
    return ExpectationResult(type=name, kwargs=kwargs, severity=severity, success=success, result=result)


class DataChecks:
    """Streams chunks through the freshness, duplicate-row and leakage checks."""

    def __init__(self, settings: CheckSettings) -> None:
        self.s = settings
        self.times: list[np.ndarray] = []
        self.duplicates = DuplicateRows(settings.duplicate_severity, settings.max_duplicate_share, settings.sample_size)
        self.leak_candidates: dict[tuple[str, ...], bool] | None = None
        self.rows = 0

    def update(self, chunk: pd.DataFrame, origin: pd.DataFrame | None = None) -> None:
        """`chunk`: the collected columns; `origin`: each row's file and line (collect's ORIGIN_COLUMNS), if known."""
        self.rows += len(chunk)
        if self.s.timestamp in chunk.columns:
            times = pd.to_datetime(chunk[self.s.timestamp], errors="coerce").dropna()
            self.times.append(times.to_numpy(dtype="datetime64[ns]").view("int64"))
        self.duplicates.update(chunk, origin)
        self._update_leakage(chunk)

    def _update_leakage(self, chunk: pd.DataFrame) -> None:
        if self.s.target not in chunk.columns or not len(chunk):
            return
        target = pd.to_numeric(chunk[self.s.target], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        numeric = [
            c
            for c in chunk.columns
            if c not in (self.s.target, self.s.timestamp) and pd.api.types.is_numeric_dtype(chunk[c])
        ][:MAX_LEAKAGE_COLUMNS]
        if self.leak_candidates is None:
            self.leak_candidates = {(c,): True for c in numeric}
            self.leak_candidates |= {pair: True for pair in itertools.combinations(numeric, 2)}
            self.leak_candidates |= {(a, "-", b): True for a, b in itertools.permutations(numeric, 2)}
        values = {c: chunk[c].to_numpy(dtype="float64", na_value=np.nan) for c in numeric}
        with np.errstate(invalid="ignore"):
            for key, still in self.leak_candidates.items():
                if not still:
                    continue
                if any(c != "-" and c not in values for c in key):
                    self.leak_candidates[key] = False
                    continue
                if len(key) == 1:
                    derived = values[key[0]]
                elif key[1] == "-":
                    derived = values[key[0]] - values[key[2]]
                else:
                    derived = values[key[0]] + values[key[1]]
                self.leak_candidates[key] = bool(np.array_equal(derived, target, equal_nan=False))

    def finish(
        self, sources: list[str] | None = None, lookup: Callable[[list[int]], pd.DataFrame] | None = None
    ) -> list[ExpectationResult]:
        """`sources`: the files rows came from (the manifest's); `lookup`: rows by position, for the duplicates."""
        freshness = self._freshness() if self.s.timestamp is not None else []
        return [*freshness, self.duplicates.finish(sources, lookup), *self._leakage()]

    def _freshness(self) -> list[ExpectationResult]:
        column = self.s.timestamp
        times = np.concatenate(self.times) if self.times else np.empty(0, dtype="int64")
        self.times = []
        times.sort()
        future = times[times > self.s.now.value]
        results = [
            _result(
                "no_future_timestamps",
                column,
                not len(future),
                "critical",
                observed_value=f"latest {pd.Timestamp(int(times[-1])).isoformat()}" if len(times) else None,
                details={"now": self.s.now.isoformat()},
                unexpected_count=len(future),
                partial_unexpected_list=[pd.Timestamp(int(t)).isoformat() for t in future[: self.s.sample_size]],
            )
        ]
        if self.s.max_gap is not None:
            distinct = np.unique(times)
            gaps = np.diff(distinct)
            long = np.flatnonzero(gaps > self.s.max_gap.value)
            examples = [
                f"{pd.Timestamp(int(distinct[i])).isoformat()} -> {pd.Timestamp(int(distinct[i + 1])).isoformat()}"
                for i in long[: self.s.sample_size]
            ]
            longest = pd.Timedelta(int(gaps.max())) if len(gaps) else pd.Timedelta(0)
            results.append(
                _result(
                    "no_gaps_longer_than",
                    column,
                    not len(long),
                    self.s.gap_severity,
                    observed_value=f"longest gap {longest}",
                    details={"max_gap": str(self.s.max_gap)},
                    unexpected_count=len(long),
                    partial_unexpected_list=examples,
                )
            )
        return results

    def _leakage(self) -> list[ExpectationResult]:
        found = [key for key, exact in (self.leak_candidates or {}).items() if exact and self.rows]
        declared = set(self.s.declared_leakage)
        results = []
        for key in found:
            columns = [c for c in key if c != "-"]
            relation = f"{' '.join(key) if len(key) != 2 else ' + '.join(key)} == {self.s.target}"
            undeclared = [c for c in columns if c not in declared]
            results.append(
                _result(
                    "no_target_leakage",
                    ", ".join(columns),
                    not undeclared,
                    "critical",
                    observed_value=relation
                    + (
                        f": undeclared leakage through {undeclared}"
                        if undeclared
                        else " (declared leakage, dropped before featurize)"
                    ),
                    unexpected_count=None,
                )
            )
        if not found:
            results.append(_result("no_target_leakage", None, True, "critical", observed_value="no exact relation"))
        return results

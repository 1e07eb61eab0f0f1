"""The table kind's fixed holdout: rows chosen once per problem that never enter training, whatever data comes later.

Why: with a time split the test rows are the latest ones, so after a retrain on newer data (a later `collect.as_of`)
the previous version's test rows fall into the new train split. The gate scores candidate and champion on the
champion's holdout (tasks/evaluation/holdout.py); were that the champion's old test split, the candidate would be
scored on rows it was trained on. A fixed holdout, stated in the problem's params, is kept out of `train` and `val`
in every run and is the holdout every version is stored with, so the gate always compares on rows neither model saw.

`featurize.holdout` (the problem's own params file):
- a problem with time: `{from: <time>, to: <time>}`, the rows with from <= time < to (by time, as the issue asks:
  a random sample of a time series would leave each held row's neighbours in training);
- a problem without time: `{fraction: <0..0.5>, seed: <int>}`, the rows whose row id falls in the first `fraction`
  of the seeded hash space: a row is held or not by its content alone, so rows added later never move a row in or
  out (and exact duplicates are held together).
Unset: no fixed holdout (the test split is the holdout, renewed with each version, as before).

A row's id (`row_ids`) is a 64-bit hash of its model columns (the time, the features and the target), not of its
position: data/raw's `__file__`/`__line__` shift when new data arrives, the content does not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import TabularProblem
from tasks.core.errors import PipelineError
from tasks.core.params import Params

KEY = "featurize.holdout"
MAX_FRACTION = 0.5


@dataclass(frozen=True)
class HoldoutRule:
    """Which rows are the fixed holdout: a time period [start, end), or a seeded share of the row-id space."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    fraction: float | None = None
    seed: int = 0

    def describe(self) -> dict[str, Any]:
        if self.start is not None and self.end is not None:
            return {"from": self.start.isoformat(), "to": self.end.isoformat()}
        return {"fraction": self.fraction, "seed": self.seed}


def _time(value: Any, where: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if isinstance(value, bool) or pd.isna(stamp):
        raise PipelineError(f'{where} must be a date or datetime such as "2011-04-13 14:00", got {value!r}')
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def read_holdout_rule(params: Params, problem: TabularProblem) -> HoldoutRule | None:
    """`featurize.holdout`, checked; None when unset. A PipelineError names the key that is wrong and what it takes."""
    value = params.raw(KEY, None)
    if value is None:
        return None
    where = f"{params.source}: '{KEY}'"
    if problem.timestamp:
        if not isinstance(value, dict) or set(value) != {"from", "to"}:
            raise PipelineError(
                f"{where} must be a mapping {{from: <time>, to: <time>}} for problem '{problem.name}', which has "
                f"time (the holdout is a period: rows with from <= time < to), got {value!r}"
            )
        start, end = _time(value["from"], f"{where[:-1]}.from'"), _time(value["to"], f"{where[:-1]}.to'")
        if not start < end:
            raise PipelineError(f"{where}: 'from' ({start}) must be before 'to' ({end})")
        return HoldoutRule(start=start, end=end)
    if not isinstance(value, dict) or "fraction" not in value or set(value) - {"fraction", "seed"}:
        raise PipelineError(
            f"{where} must be a mapping {{fraction: <share>, seed: <int>}} for problem '{problem.name}', which has "
            f"no time, got {value!r}"
        )
    fraction, seed = value["fraction"], value.get("seed", 0)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= MAX_FRACTION:
        raise PipelineError(f"{where[:-1]}.fraction' must be a number in (0, {MAX_FRACTION}], got {fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PipelineError(f"{where[:-1]}.seed' must be an integer >= 0, got {seed!r}")
    return HoldoutRule(fraction=float(fraction), seed=seed)


def id_columns(problem: TabularProblem, frame: pd.DataFrame) -> list[str]:
    """The columns a row id hashes: the problem's model columns (time, features, target) that `frame` holds."""
    return [c for c in problem.model_columns if c in frame.columns]


def _canonical(column: pd.Series) -> pd.Series:
    """A column as the row id hashes it: numbers as float64 (3 and 3.0 are one value), times as datetime64, the rest
    as text, so a dtype that differs between two collections does not change a row's id."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype("float64")
    if pd.api.types.is_numeric_dtype(column):
        return pd.to_numeric(column).astype("float64")
    if pd.api.types.is_datetime64_any_dtype(column):  # naive times are UTC (as collect writes them)
        return pd.to_datetime(column, utc=True).dt.tz_localize(None).astype("datetime64[ns]")
    return column.astype(object).where(column.notna(), "\x00<missing>").astype(str)


def row_ids(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One 64-bit id per row of `frame`: a hash of its values in `columns` (content, never position)."""
    canonical = pd.DataFrame({c: _canonical(frame[c]).to_numpy() for c in columns})  # by position, never by label
    return pd.util.hash_pandas_object(canonical, index=False).to_numpy(dtype="uint64")


def ids_digest(ids: np.ndarray) -> str:
    """The sha256 of a set of row ids (sorted): equal digests, equal sets."""
    return hashlib.sha256(np.sort(ids.astype("<u8")).tobytes()).hexdigest()


def held(frame: pd.DataFrame, rule: HoldoutRule, problem: TabularProblem) -> np.ndarray:
    """A boolean mask: which rows of `frame` belong to the fixed holdout (a function of each row alone)."""
    if rule.start is not None and rule.end is not None:
        times = frame[problem.timestamp]
        start, end = rule.start, rule.end
        if getattr(times.dt, "tz", None) is not None:  # the rule's naive times are UTC
            start, end = start.tz_localize("UTC"), end.tz_localize("UTC")
        return ((times >= start) & (times < end)).to_numpy(dtype=bool)
    ids = row_ids(frame, id_columns(problem, frame))
    mixed = pd.util.hash_array(ids ^ np.uint64((rule.seed * 0x9E3779B97F4A7C15) % 2**64))  # seeded, then mixed
    return mixed < np.uint64(min(int(rule.fraction * 2.0**64), 2**64 - 1))

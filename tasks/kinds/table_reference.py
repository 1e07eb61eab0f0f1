"""Checks at the door that tell a broken feed from a changed world: each month of a batch against the reference's
own month-to-month variation.

A season moves a column's level (July is warmer than January) but leaves the feed's physics alone: `atemp` still
tracks `temp`, humidity still spreads as widely within a month and still reaches saturation on rainy days,
`casual + registered` still equals `bikers`. A broken feed (two columns swapped, a column rescaled inside its valid
range, a target from another unit or data set) breaks exactly those. So the reference profile
(`pipelines/<problem>/expectations/reference.json`, proposed by `python -m tasks.checks.infer_schema` from the
reference the
production model was trained on, reviewed and committed like the suites) holds three kinds of expectation:

- `expect_column_<statistic>_to_be_between_reference_months`: a column's std, mean or 5/50/95% quantile, for each
  month of the batch, within the band the reference months spanned, widened by `sigmas` x their month-to-month
  spread (at least `floor` x the column's within-month std). Only statistics that are stable across the reference
  months are proposed (month-to-month spread <= `stability` x the within-month std): a seasonal level (temperature,
  demand) is never held to the months the reference happened to cover.
- `expect_column_pair_correlation_to_be_between_reference_months`: two columns whose correlation kept one sign in
  every reference month (at least `min_strength` strong) keep it in every month of the batch, no weaker than the
  weakest reference month minus `sigmas` x the spread (a correlation stronger than ever seen is not a broken feed).
- `expect_column_sum_to_equal_reference_relation`: a relation `a + b == c` that held in every reference row holds in
  (almost) every row of the batch.

Each has its severity (critical by default) and its thresholds in the committed file; a failure names the column(s),
the month, the value and how far outside the band it is, in units of the reference's month-to-month spread. A month
of the batch with fewer than `min_rows` rows is not judged (its statistics would be noise). A problem without time
has no months and no reference profile; neither does a problem whose expectations folder holds no reference.json.

Memory is bounded: the month being read keeps a uniform random sample of at most `SAMPLE_ROWS` rows of the profiled
columns; a month is measured (a few numbers) and its sample dropped once the rows move past it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tasks.checks.expectation_check import ExpectationResult
from tasks.core.errors import PipelineError

SAMPLE_ROWS = 50_000  # per month: quantiles and correlations from a uniform sample beyond this
_SAMPLE_SEED = 20110102
STATISTICS = ("std", "mean", "q05", "q50", "q95")
STAT_TYPE = "expect_column_{}_to_be_between_reference_months"
CORRELATION_TYPE = "expect_column_pair_correlation_to_be_between_reference_months"
SUM_TYPE = "expect_column_sum_to_equal_reference_relation"
PERIOD = "M"


@dataclass(frozen=True)
class ProfileSettings:
    """How `infer_reference_profile` turns the reference's month-to-month variation into bands."""

    sigmas: float = 3.0  # band widening, in month-to-month standard deviations of the statistic
    floor: float = 0.5  # ... at least this share of the column's within-month std
    stability: float = 0.2  # a statistic is checked only if its month-to-month std <= this x the within-month std
    min_strength: float = 0.2  # a correlation is checked only if every reference month has |r| >= this, one sign
    min_rows: int = 200  # months with fewer rows are neither profiled nor judged
    min_months: int = 4  # fewer reference months give no usable month-to-month spread: no profile
    sum_mostly: float = 0.999  # share of batch rows in which an exact reference relation must hold


def profiled_columns(frame: pd.DataFrame, exclude: Sequence[str]) -> list[str]:
    """Numeric, non-boolean columns of `frame` that are not in `exclude` (time, calendar and categorical columns)."""
    return [
        str(c)
        for c in frame.columns
        if c not in exclude and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _months(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, errors="coerce").dt.to_period(PERIOD).astype(str)


def column_statistics(values: np.ndarray) -> dict[str, float]:
    """std, mean and 5/50/95% quantiles of the finite values (NaN when there are fewer than two)."""
    present = values[np.isfinite(values)]
    if len(present) < 2:
        return dict.fromkeys(STATISTICS, math.nan)
    q05, q50, q95 = np.quantile(present, [0.05, 0.5, 0.95])
    return {
        "std": float(present.std(ddof=1)),
        "mean": float(present.mean()),
        "q05": float(q05),
        "q50": float(q50),
        "q95": float(q95),
    }


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over rows where both are finite; NaN when either is constant or too few rows."""
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 3:
        return math.nan
    a, b = a[both], b[both]
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def exact_sums(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[str, str, str]]:
    """Every (a, b, c) of `columns` with a + b == c in every row of `frame` (integer-valued relations only)."""
    values = {c: frame[c].to_numpy(dtype="float64", na_value=np.nan) for c in columns}
    found = []
    for a, b in itertools.combinations(columns, 2):
        total = values[a] + values[b]
        if not np.isfinite(total).all():
            continue
        for c in columns:
            if c not in (a, b) and np.array_equal(total, values[c]) and np.any(values[c] != 0):
                found.append((a, b, c))
    return found


def _expectation(kind: str, column: str, lo: float, hi: float, reference: dict[str, float], **extra: Any) -> dict:
    kwargs = {"column": column, "min_value": round(lo, 6), "max_value": round(hi, 6)}
    kwargs |= extra
    kwargs["reference_months"] = {k: round(v, 6) for k, v in reference.items()}
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": "critical"}


def infer_reference_profile(
    frame: pd.DataFrame,
    name: str,
    timestamp: str,
    exclude: Sequence[str],
    settings: ProfileSettings = ProfileSettings(),
    notes: str = "",
) -> dict[str, Any] | None:
    """The reference profile of `frame` (rows with a `timestamp`); None when fewer than `min_months` months have
    `min_rows` rows (with two or three, the month-to-month spread is too poorly known to bound anything)."""
    columns = profiled_columns(frame, [timestamp, *exclude])
    months = _months(frame[timestamp])
    groups = {m: g for m, g in frame.groupby(months, sort=True) if len(g) >= settings.min_rows}
    if len(groups) < settings.min_months or not columns:
        return None
    stats = {
        m: {c: column_statistics(g[c].to_numpy(dtype="float64", na_value=np.nan)) for c in columns}
        for m, g in groups.items()
    }
    expectations: list[dict[str, Any]] = []
    for column in columns:
        within = float(np.nanmean([stats[m][column]["std"] for m in groups]))
        if not within > 0:
            continue
        for statistic in STATISTICS:
            per_month = {m: stats[m][column][statistic] for m in groups}
            values = np.array(list(per_month.values()))
            if not np.isfinite(values).all():
                continue
            spread = float(values.std(ddof=1))
            if spread > settings.stability * within:
                continue  # seasonal: the reference months do not bound it
            width = max(settings.sigmas * spread, settings.floor * within)
            lo, hi = float(values.min()) - width, float(values.max()) + width
            if statistic == "std":
                lo = max(lo, 0.0)
            expectations.append(
                _expectation(STAT_TYPE.format(statistic), column, lo, hi, per_month, spread=round(spread, 6))
            )
    for a, b in itertools.combinations(columns, 2):
        per_month = {
            m: correlation(
                g[a].to_numpy(dtype="float64", na_value=np.nan), g[b].to_numpy(dtype="float64", na_value=np.nan)
            )
            for m, g in groups.items()
        }
        values = np.array(list(per_month.values()))
        if not np.isfinite(values).all() or np.abs(values).min() < settings.min_strength:
            continue
        if not (np.all(values > 0) or np.all(values < 0)):
            continue
        spread = float(values.std(ddof=1))
        weakest = float(np.abs(values).min())
        floor = max(min(weakest - settings.sigmas * spread, weakest * settings.floor), 0.0)
        lo, hi = (floor, 1.0) if values[0] > 0 else (-1.0, -floor)
        expectations.append(
            _expectation(CORRELATION_TYPE, f"{a}, {b}", lo, hi, per_month, columns=[a, b], spread=round(spread, 6))
        )
    for a, b, c in exact_sums(frame.loc[months.isin(list(groups))], columns):
        expectations.append(
            {
                "type": SUM_TYPE,
                "kwargs": {
                    "column": f"{a} + {b} == {c}",
                    "columns": [a, b],
                    "equals": c,
                    "mostly": settings.sum_mostly,
                },
                "meta": {},
                "severity": "critical",
            }
        )
    return {
        "name": name,
        "period": PERIOD,
        "min_rows": settings.min_rows,
        "timestamp": timestamp,
        "expectations": expectations,
        "meta": {"notes": notes, "reference_months": {m: len(g) for m, g in groups.items()}},
    }


def _columns_of(expectation: dict[str, Any]) -> list[str]:
    kwargs = expectation["kwargs"]
    if expectation["type"] == SUM_TYPE:
        return [*kwargs["columns"], kwargs["equals"]]
    return list(kwargs.get("columns") or [kwargs["column"]])


def check_profile(profile: dict[str, Any], path: str) -> None:
    """Stop with one message naming `path` and the entry when the profile is not one this module wrote."""
    if not isinstance(profile, dict) or not isinstance(profile.get("expectations"), list) or "timestamp" not in profile:
        raise PipelineError(f"{path}: a reference profile needs 'timestamp' and a list of 'expectations'")
    known = {STAT_TYPE.format(s) for s in STATISTICS} | {CORRELATION_TYPE, SUM_TYPE}
    for number, entry in enumerate(profile["expectations"]):
        if not isinstance(entry, dict) or entry.get("type") not in known or not isinstance(entry.get("kwargs"), dict):
            raise PipelineError(
                f"{path}: expectations[{number}] has type {entry.get('type') if isinstance(entry, dict) else entry!r}; "
                f"expected one of {sorted(known)} with 'kwargs'"
            )


@dataclass
class ReferenceChecks:
    """Streams chunks, keeping a uniform sample of each open month's profiled columns; `finish()` judges each month.

    A month is measured and its sample dropped as soon as the rows move past it (collect writes rows in time
    order), so at most the last month of the current chunk stays open. Rows of a month that arrive after it was
    closed (a file out of time order) are measured as a part of their own, labelled "(part 2: rows out of time
    order)", and judged alike.
    """

    profile: dict[str, Any]
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(_SAMPLE_SEED))
    samples: dict[str, np.ndarray] = field(default_factory=dict)  # open month label -> rows x present columns
    present: dict[str, list[str]] = field(default_factory=dict)  # ... and the columns of those rows
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    measured: dict[str, list[float]] = field(default_factory=dict)  # month label -> one value per expectation
    missing: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.columns = sorted({c for e in self.profile["expectations"] for c in _columns_of(e)})
        self.timestamp = self.profile["timestamp"]
        self.min_rows = int(self.profile.get("min_rows", 0))

    def update(self, chunk: pd.DataFrame) -> None:
        if self.timestamp not in chunk.columns or not len(chunk):
            return
        present = [c for c in self.columns if c in chunk.columns]
        self.missing |= set(self.columns) - set(present)
        numbers = np.column_stack(
            [pd.to_numeric(chunk[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) for c in present]
            or [np.empty((len(chunk), 0))]
        )
        times = pd.to_datetime(chunk[self.timestamp], errors="coerce")
        known = times.notna().to_numpy()
        codes = (times.dt.year * 12 + times.dt.month - 1).to_numpy(dtype="float64", na_value=np.nan)[known]
        numbers = numbers[known]
        if not len(codes):
            return
        order = np.argsort(codes, kind="stable")  # rows grouped by month, in one pass
        codes, numbers = codes[order].astype("int64"), numbers[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        labels = []
        for first, last in zip(starts, [*starts[1:], len(codes)], strict=True):
            code = int(codes[first])
            month = label = f"{code // 12:04d}-{code % 12 + 1:02d}"
            part = 1
            while label in self.measured:  # closed already: these rows came out of time order
                part += 1
                label = f"{month} (part {part}: rows out of time order)"
            labels.append(label)
            self._add(label, numbers[first:last], present)
        for label in [m for m in self.samples if m[:7] < labels[-1][:7]]:  # months this chunk moved past
            self._close(label)

    def _add(self, label: str, rows: np.ndarray, present: list[str]) -> None:
        """Append `rows` to `label`'s sample, keeping a uniform random sample of at most SAMPLE_ROWS rows."""
        self.present[label] = present
        keys = np.concatenate([self.keys.get(label, np.empty(0)), self.rng.random(len(rows))])
        sample = np.concatenate([self.samples[label], rows]) if label in self.samples else rows
        if len(keys) > SAMPLE_ROWS:
            keep = np.argpartition(keys, SAMPLE_ROWS)[:SAMPLE_ROWS]
            keys, sample = keys[keep], sample[keep]
        self.keys[label], self.samples[label] = keys, sample

    def _close(self, label: str) -> None:
        sample = pd.DataFrame(self.samples.pop(label), columns=self.present.pop(label))
        self.keys.pop(label, None)
        stats: dict[str, dict[str, float]] = {}  # per column, computed once for all its statistics
        self.measured[label] = (
            [self._measure(e, sample, stats) for e in self.profile["expectations"]]
            if len(sample) >= self.min_rows
            else []
        )

    def finish(self) -> list[ExpectationResult]:
        for label in list(self.samples):
            self._close(label)
        months = {m: v for m, v in sorted(self.measured.items()) if v}  # [] : too few rows to judge
        self.measured = {}
        return [self._judge(i, e, months) for i, e in enumerate(self.profile["expectations"])]

    def _measure(self, expectation: dict[str, Any], sample: pd.DataFrame, stats: dict[str, dict[str, float]]) -> float:
        """The value `expectation` judges, on one month's sample: a statistic, a correlation, or the share of rows
        in which a sum holds. NaN when a column is missing."""
        kind, kwargs = expectation["type"], expectation["kwargs"]
        if any(c not in sample.columns for c in _columns_of(expectation)):
            return math.nan
        if kind == SUM_TYPE:
            (a, b), c = kwargs["columns"], kwargs["equals"]
            total = sample[a].to_numpy() + sample[b].to_numpy()
            return float(np.isclose(total, sample[c].to_numpy(), rtol=0, atol=1e-9).mean())
        if kind == CORRELATION_TYPE:
            a, b = kwargs["columns"]
            return correlation(sample[a].to_numpy(), sample[b].to_numpy())
        column = kwargs["column"]
        if column not in stats:
            stats[column] = column_statistics(sample[column].to_numpy())
        return stats[column][kind.removeprefix("expect_column_").split("_to_be")[0]]

    def _judge(self, index: int, expectation: dict[str, Any], months: dict[str, list[float]]) -> ExpectationResult:
        kind, kwargs = expectation["type"], dict(expectation["kwargs"])
        kwargs.pop("reference_months", None)
        severity = str(expectation.get("severity") or "critical")
        base = {"type": kind, "kwargs": kwargs, "severity": severity, "meta": expectation.get("meta") or {}}
        absent = [c for c in _columns_of(expectation) if c in self.missing]
        if absent:
            return ExpectationResult(**base, success=False, result={}, error=f"column(s) {absent} missing")
        if not months:
            return ExpectationResult(**base, success=True, result={"observed_value": "no month with enough rows"})
        # NaN: not measurable that month (a column with no values, a constant one has no correlation); the suite's
        # null and range checks speak for those, and a stuck sensor fails the std band
        values = {m: measured[index] for m, measured in months.items() if np.isfinite(measured[index])}
        if not values:
            return ExpectationResult(**base, success=True, result={"observed_value": "not measurable in any month"})
        if kind == SUM_TYPE:
            return self._judge_sum(base, kwargs, values)
        lo, hi = kwargs["min_value"], kwargs["max_value"]
        bad = {m: v for m, v in values.items() if not (np.isfinite(v) and lo <= v <= hi)}
        spread = float(kwargs.get("spread") or 0.0)

        def shift(value: float) -> str:
            if not np.isfinite(value):
                return f"{value}"
            distance = lo - value if value < lo else value - hi
            unit = f" = {distance / spread:.1f}x the reference's month-to-month spread" if spread > 0 else ""
            return f"{value:.4g} ({'below' if value < lo else 'above'} the band by {distance:.3g}{unit})"

        if bad:
            worst = max(bad, key=lambda m: abs(bad[m] - (lo + hi) / 2) if np.isfinite(bad[m]) else math.inf)
            observed = f"{len(bad)} of {len(values)} month(s) outside; worst {worst}: {shift(bad[worst])}"
        else:
            observed = f"{len(values)} month(s) within; " + ", ".join(f"{m}: {v:.4g}" for m, v in values.items())
        return ExpectationResult(
            **base,
            success=not bad,
            result={
                "observed_value": observed,
                "unexpected_count": len(bad) or None,
                "partial_unexpected_list": [f"{m}: {shift(v)}" for m, v in list(bad.items())[:5]],
            },
        )

    @staticmethod
    def _judge_sum(base: dict[str, Any], kwargs: dict[str, Any], shares: dict[str, float]) -> ExpectationResult:
        mostly = float(kwargs.get("mostly", 1.0))
        bad = {m: s for m, s in shares.items() if not s >= mostly}
        worst = min(shares, key=lambda m: shares[m] if np.isfinite(shares[m]) else -1.0)
        observed = f"holds in {shares[worst]:.1%} of the rows of {worst}" + (
            f" ({len(bad)} of {len(shares)} month(s) below {mostly:.1%})" if bad else f" (every month >= {mostly:.1%})"
        )
        return ExpectationResult(
            **base,
            success=not bad,
            result={
                "observed_value": observed,
                "unexpected_count": len(bad) or None,
                "partial_unexpected_list": [f"{m}: holds in {s:.1%} of the rows" for m, s in list(bad.items())[:5]],
            },
        )

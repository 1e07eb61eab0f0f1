"""The expectation types the streaming validator supports (`CHECKS`: GX's type -> its accumulator), in bounded memory.

Per-value checks (not null, between, in set, type list) count the values that break them and keep a few as examples;
uniqueness keeps 8 bytes per row; the column statistics keep counts, min/max, a Welford mean/variance and, for
quantiles, a uniform random sample of at most `SAMPLE_SIZE` values; the table checks keep the columns or the row
count. Each extends tasks/checks/expectation_check.py's `Check`; tasks/checks/expectations.py runs a suite of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tasks.checks.expectation_check import Check

SAMPLE_SIZE = 200_000
_SAMPLE_SEED = 20110101


def _numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values as float64 plus a mask of entries that are present but not numbers (e.g. 'abc' in a number column)."""
    if pd.api.types.is_bool_dtype(series):
        series = series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(series), dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        values[series.isna().to_numpy()] = np.nan
        return values, np.zeros(len(series), dtype=bool)
    converted = pd.to_numeric(series, errors="coerce")
    return converted.to_numpy(dtype="float64", na_value=np.nan), (converted.isna() & series.notna()).to_numpy()


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar for reports and messages."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class _MapCheck(Check):
    """A per-value check: counts values that break it and keeps a few of them as examples."""

    counts_nulls = False

    def __init__(self, config: dict[str, Any], sample_size: int) -> None:
        super().__init__(config, sample_size)
        self.element_count = 0
        self.missing_count = 0
        self.unexpected_count = 0
        self.examples: list[Any] = []

    def _update(self, chunk: pd.DataFrame) -> None:
        series = chunk[self.column]
        nulls = series.isna().to_numpy()
        self.element_count += len(series)
        self.missing_count += int(nulls.sum())
        bad = self.bad_mask(series, nulls)
        if not self.counts_nulls:
            bad &= ~nulls
        n_bad = int(bad.sum())
        if n_bad:
            self.unexpected_count += n_bad
            room = self.sample_size - len(self.examples)
            if room > 0:
                self.examples.extend(_plain(v) for v in series[bad].iloc[:room].tolist())

    def bad_mask(self, series: pd.Series, nulls: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        nonmissing = self.element_count - self.missing_count
        denominator = self.element_count if self.counts_nulls else nonmissing
        fraction_bad = self.unexpected_count / denominator if denominator else 0.0
        mostly = float(self.kwargs.get("mostly", 1.0))
        result = {
            "element_count": self.element_count,
            "missing_count": self.missing_count,
            "missing_percent": 100.0 * self.missing_count / self.element_count if self.element_count else None,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": 100.0 * fraction_bad,
            "unexpected_percent_nonmissing": (100.0 * self.unexpected_count / nonmissing) if nonmissing else None,
            "partial_unexpected_list": self.examples,
        }
        return (1.0 - fraction_bad) >= mostly - 1e-12, result


class _NotNull(_MapCheck):
    counts_nulls = True

    def bad_mask(self, series: pd.Series, nulls: np.ndarray) -> np.ndarray:
        return nulls.copy()

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        success, result = super()._finish()
        result["partial_unexpected_list"] = [None] * min(self.unexpected_count, self.sample_size)
        return success, result


class _Between(_MapCheck):
    def bad_mask(self, series: pd.Series, nulls: np.ndarray) -> np.ndarray:
        values, not_numbers = _numeric(series)
        lo, hi = self.kwargs.get("min_value"), self.kwargs.get("max_value")
        bad = not_numbers | np.isinf(values) if lo is None and hi is None else not_numbers.copy()
        with np.errstate(invalid="ignore"):
            if lo is not None:
                bad |= values <= lo if self.kwargs.get("strict_min") else values < lo
            if hi is not None:
                bad |= values >= hi if self.kwargs.get("strict_max") else values > hi
        return bad


class _InSet(_MapCheck):
    def bad_mask(self, series: pd.Series, nulls: np.ndarray) -> np.ndarray:
        allowed = list(self.kwargs.get("value_set") or [])
        return ~series.isin(allowed).to_numpy()


def _python_types(type_list: list[str]) -> tuple[type, ...]:
    """The classes a value of an object column may be an instance of, resolved as GX 1.x does for pandas."""
    native = {"none": (type(None),), "bool": (bool,), "int": (int,), "long": (int,), "float": (float,)}
    native |= {"bytes": (bytes,), "complex": (complex,), "str": (str,), "string_types": (str,), "list": (list,)}
    native |= {"dict": (dict,)}
    found: list[type] = []
    for name in type_list:
        with contextlib.suppress(TypeError):
            found.append(np.dtype(name).type)
        found.extend(native.get(name.lower(), ()))
        # Unlike GX, a Python number in an object column counts as the numeric dtype it converts to, so the values
        # reported as bad are the ones that are not numbers at all ('warm' among temperatures).
        if name.startswith(("int", "uint")):
            found.append(int)
        elif name.startswith("float"):
            found.extend((int, float))
    return tuple(found)


class _TypeList(_MapCheck):
    """A typed column passes when its dtype is listed; an `object` column is checked value by value (as GX does)."""

    def __init__(self, config: dict[str, Any], sample_size: int) -> None:
        super().__init__(config, sample_size)
        self.allowed: list[str] = list(self.kwargs.get("type_list") or [self.kwargs.get("type_")])
        self.classes = _python_types(self.allowed)
        self.seen: list[str] = []

    def _update(self, chunk: pd.DataFrame) -> None:
        series = chunk[self.column]
        name = str(series.dtype)
        if name not in self.seen:
            self.seen.append(name)
        if name == "object":
            super()._update(chunk)

    def bad_mask(self, series: pd.Series, nulls: np.ndarray) -> np.ndarray:
        probe = {"string": "", "integer": 0, "floating": 0.0, "boolean": True, "bytes": b""}
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in probe:  # every present value has the same Python type: test one (fast path)
            return np.full(len(series), not isinstance(probe[kind], self.classes))
        return ~series.map(lambda v: isinstance(v, self.classes)).to_numpy(dtype=bool)

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        observed = self.seen[0] if len(self.seen) == 1 else self.seen
        typed_ok = all(s in self.allowed for s in self.seen if s != "object")
        if "object" not in self.seen:
            return typed_ok, {"observed_value": observed}
        success, result = super()._finish()
        return success and typed_ok, {"observed_value": observed, **result}


class _Unique(Check):
    """Unique values: 8 bytes per row (the value itself for numbers and times, else a 64-bit hash)."""

    def __init__(self, config: dict[str, Any], sample_size: int) -> None:
        super().__init__(config, sample_size)
        self.keys: list[np.ndarray] = []
        self.element_count = 0
        self.missing_count = 0
        self.exact_keys = True
        self.is_time = False

    def _update(self, chunk: pd.DataFrame) -> None:
        series = chunk[self.column]
        self.element_count += len(series)
        present = series.dropna()
        self.missing_count += len(series) - len(present)
        if pd.api.types.is_datetime64_any_dtype(present):
            self.is_time = True
            self.keys.append(present.to_numpy(dtype="datetime64[ns]").view("int64"))
        elif pd.api.types.is_integer_dtype(present):
            self.keys.append(present.to_numpy(dtype="int64"))
        else:
            self.exact_keys = False
            self.keys.append(pd.util.hash_array(present.to_numpy()).view("int64"))

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        keys = np.concatenate(self.keys) if self.keys else np.empty(0, dtype="int64")
        self.keys = []
        keys.sort()  # in place: one copy of the keys at a time
        repeated = np.zeros(len(keys), dtype=bool)
        if len(keys) > 1:
            same = keys[1:] == keys[:-1]
            repeated[1:] |= same
            repeated[:-1] |= same
        count = int(repeated.sum())
        examples: list[Any] = []
        if count and self.exact_keys:
            values = np.unique(keys[repeated])[: self.sample_size]
            examples = [_plain(pd.Timestamp(int(v)) if self.is_time else v) for v in values]
        nonmissing = self.element_count - self.missing_count
        result = {
            "element_count": self.element_count,
            "missing_count": self.missing_count,
            "unexpected_count": count,
            "unexpected_percent": 100.0 * count / nonmissing if nonmissing else 0.0,
            "partial_unexpected_list": examples,
        }
        return count == 0, result


class _ColumnStats(Check):
    """Aggregate checks on one numeric column: min, max, mean, stdev, quantiles."""

    def __init__(self, config: dict[str, Any], sample_size: int, statistic: str) -> None:
        super().__init__(config, sample_size)
        self.statistic = statistic
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.minimum = np.inf
        self.maximum = -np.inf
        self.sample = np.empty(0)
        self.sample_keys = np.empty(0)
        self.rng = np.random.default_rng(_SAMPLE_SEED)
        self.is_time = False

    def _update(self, chunk: pd.DataFrame) -> None:
        series = chunk[self.column]
        self.is_time = pd.api.types.is_datetime64_any_dtype(series)
        values, not_numbers = _numeric(series)
        if not_numbers.any():
            raise ValueError(f"non-numeric values such as {series[not_numbers].iloc[:3].tolist()}")
        values = values[np.isfinite(values)]
        if not len(values):
            return
        n, mean = len(values), float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        delta = mean - self.mean
        total = self.count + n
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.count * n / total
        self.count = total
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))
        if self.statistic == "quantile":  # a uniform sample: keep the SAMPLE_SIZE smallest random keys
            keys = np.concatenate([self.sample_keys, self.rng.random(n)])
            sample = np.concatenate([self.sample, values])
            if len(keys) > SAMPLE_SIZE:
                keep = np.argpartition(keys, SAMPLE_SIZE)[:SAMPLE_SIZE]
                keys, sample = keys[keep], sample[keep]
            self.sample_keys, self.sample = keys, sample

    def _observed(self) -> Any:
        if self.statistic == "min":
            return self.minimum
        if self.statistic == "max":
            return self.maximum
        if self.statistic == "mean":
            return self.mean
        return float(np.sqrt(self.m2 / (self.count - 1))) if self.count > 1 else 0.0

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        if not self.count:
            return False, {"observed_value": "no numeric values"}
        if self.statistic == "quantile":
            ranges = self.kwargs["quantile_ranges"]
            values = [float(v) for v in np.quantile(self.sample, ranges["quantiles"])]
            ok = all(_within(v, lo, hi) for v, (lo, hi) in zip(values, ranges["value_ranges"], strict=True))
            return ok, {"observed_value": {"quantiles": ranges["quantiles"], "values": values}}
        observed = self._observed()
        lo, hi = self.kwargs.get("min_value"), self.kwargs.get("max_value")
        shown = _plain(pd.Timestamp(int(observed))) if self.is_time and self.statistic in ("min", "max") else observed
        if self.is_time:
            lo = pd.Timestamp(lo).value if lo is not None else None
            hi = pd.Timestamp(hi).value if hi is not None else None
        return _within(observed, lo, hi), {"observed_value": shown}


def _within(value: float, lo: Any, hi: Any) -> bool:
    return (lo is None or value >= lo) and (hi is None or value <= hi)


class _ColumnSet(Check):
    def __init__(self, config: dict[str, Any], sample_size: int) -> None:
        super().__init__(config, sample_size)
        self.columns: list[str] | None = None

    def _update(self, chunk: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = [str(c) for c in chunk.columns]

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        observed = self.columns or []
        expected = list(self.kwargs.get("column_set") or [])
        missing = [c for c in expected if c not in observed]
        unexpected = [c for c in observed if c not in expected]
        exact = self.kwargs.get("exact_match", True)
        success = not missing and (not unexpected or exact is False)
        details = {"mismatched": {"missing": missing, "unexpected": unexpected}} if missing or unexpected else {}
        return success, {"observed_value": observed, "details": details}


class _RowCount(Check):
    def __init__(self, config: dict[str, Any], sample_size: int) -> None:
        super().__init__(config, sample_size)
        self.rows = 0

    def _update(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        return _within(self.rows, self.kwargs.get("min_value"), self.kwargs.get("max_value")), {
            "observed_value": self.rows
        }


def _stats(statistic: str) -> Callable[[dict[str, Any], int], Check]:
    return lambda config, sample_size: _ColumnStats(config, sample_size, statistic)


CHECKS: dict[str, Callable[[dict[str, Any], int], Check]] = {
    "expect_table_columns_to_match_set": _ColumnSet,
    "expect_table_row_count_to_be_between": _RowCount,
    "expect_column_values_to_be_in_type_list": _TypeList,
    "expect_column_values_to_be_of_type": _TypeList,
    "expect_column_values_to_not_be_null": _NotNull,
    "expect_column_values_to_be_between": _Between,
    "expect_column_values_to_be_in_set": _InSet,
    "expect_column_values_to_be_unique": _Unique,
    "expect_column_min_to_be_between": _stats("min"),
    "expect_column_max_to_be_between": _stats("max"),
    "expect_column_mean_to_be_between": _stats("mean"),
    "expect_column_stdev_to_be_between": _stats("stdev"),
    "expect_column_quantile_values_to_be_between": _stats("quantile"),
}

"""The time a table problem derives from its source columns, checked so that a bad value stops collect with the
file, the column and an example row instead of a pandas traceback, and no row goes missing without a count.

- A value that makes the derivation raise (a `day` of 10**9 overflows pandas' Timedelta: `OutOfBoundsTimedelta`)
  stops collect: `explain_time_failure` finds the first such row by bisection (a few derivations, any size), names
  the columns whose value alone breaks it (each tried in place of a sound row's) and quotes the row.
- A value that gives no time (not a number: NaT) keeps its row, for validation to report; but when more than
  `collect.max_untimed_share` of a file's rows have no time, the file is not what the problem reads, and collect
  stops naming the file, the columns and an example row (`check_untimed_share`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.problem import TabularProblem
from tasks.core.errors import PipelineError

DEFAULT_MAX_UNTIMED_SHARE = 0.01
TIME_ERRORS = (ValueError, TypeError, OverflowError, ArithmeticError)  # OutOfBounds* are ValueErrors


def _derives(problem: TabularProblem, frame: pd.DataFrame) -> pd.Series | None:
    """The derived times of `frame`, or None when deriving them raises."""
    assert problem.derive_timestamp is not None
    try:
        return problem.derive_timestamp(frame)
    except TIME_ERRORS:
        return None


def _quote(row: pd.Series, limit: int = 12) -> str:
    shown = {str(k): (v.item() if hasattr(v, "item") else v) for k, v in list(row.items())[:limit]}
    return repr(shown) + (" …" if len(row) > limit else "")


def _culprits(frame: pd.DataFrame, bad: int, good: int | None, problem: TabularProblem, broken: Any) -> list[str]:
    """Columns whose value in row `bad`, put into the sound row `good`, breaks that row's time too; without a
    sound row, the columns the derivation reads (those whose absence raises a KeyError)."""
    if good is None:
        return input_columns(frame.iloc[[bad]], problem)
    names = []
    for column in frame.columns:
        trial = frame.iloc[[good]].copy()
        trial[column] = trial[column].astype(object)
        trial.iloc[0, trial.columns.get_loc(column)] = frame[column].iloc[bad]
        times = _derives(problem, trial)
        if times is None or broken(times):
            names.append(str(column))
    return names


def input_columns(frame: pd.DataFrame, problem: TabularProblem) -> list[str]:
    """The columns `problem.derive_timestamp` reads: deriving without one of them raises a KeyError."""
    assert problem.derive_timestamp is not None
    used = []
    for column in frame.columns:
        try:
            problem.derive_timestamp(frame.drop(columns=[column]))
        except KeyError:
            used.append(str(column))
        except TIME_ERRORS:
            pass
    return used


def _first_row(frame: pd.DataFrame, fails: Any) -> int:
    """The first row `i` such that `fails(frame.iloc[: i + 1])`; `fails(frame)` must hold (bisection)."""
    low, high = 0, len(frame)  # fails(frame[:high]) holds, fails(frame[:low]) does not
    while high - low > 1:
        middle = (low + high) // 2
        if fails(frame.iloc[:middle]):
            high = middle
        else:
            low = middle
    return high - 1


def _sound_row(frame: pd.DataFrame, problem: TabularProblem) -> int | None:
    for index in range(min(len(frame), 50)):
        times = _derives(problem, frame.iloc[[index]])
        if times is not None and not times.isna().any():
            return index
    return None


def explain_time_failure(frame: pd.DataFrame, problem: TabularProblem, source: str, err: Exception) -> str:
    """One message for a derivation that raised: the file, the column(s), the first bad row and the error."""
    frame = frame.reset_index(drop=True)
    bad = _first_row(frame, lambda part: _derives(problem, part) is None)
    columns = _culprits(frame, bad, _sound_row(frame, problem), problem, lambda times: False)
    named = f"column(s) {columns}" if columns else "its columns"
    return (
        f"{source}: the values of {named} cannot form '{problem.timestamp}' ({type(err).__name__}: {err}); "
        f"first at data row {bad + 1}: {_quote(frame.iloc[bad])}"
    )


def derive_times(frame: pd.DataFrame, problem: TabularProblem, source: str) -> pd.Series:
    """`problem`'s time of each row of `frame`; a PipelineError (see explain_time_failure) when deriving raises."""
    assert problem.derive_timestamp is not None
    try:
        return problem.derive_timestamp(frame)
    except KeyError as err:
        raise PipelineError(f"{source}: missing column {err} needed to derive '{problem.timestamp}'") from None
    except TIME_ERRORS as err:
        raise PipelineError(explain_time_failure(frame, problem, source, err)) from None


def check_untimed_share(frame: pd.DataFrame, problem: TabularProblem, source: str, max_share: float) -> int:
    """The number of rows of `frame` without a time; a PipelineError when their share exceeds `max_share`."""
    if problem.timestamp is None or problem.derive_timestamp is None or frame.empty:
        return 0
    times = derive_times(frame, problem, source)
    untimed = int(times.isna().sum())
    if untimed / len(frame) <= max_share:
        return untimed
    frame = frame.reset_index(drop=True)
    bad = int(times.reset_index(drop=True).isna().to_numpy().argmax())
    columns = _culprits(frame, bad, _sound_row(frame, problem), problem, lambda t: bool(t.isna().any()))
    named = f"column(s) {columns}" if columns else "its columns"
    raise PipelineError(
        f"{source}: {untimed} of {len(frame)} rows ({untimed / len(frame):.1%}) have values of {named} that form no "
        f"'{problem.timestamp}' (more than collect.max_untimed_share={max_share:g}); first at data row {bad + 1}: "
        f"{_quote(frame.iloc[bad])}"
    )

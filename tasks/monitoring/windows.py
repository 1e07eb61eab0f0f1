"""Windows of production traffic: cut the prediction log by time (`7d`, `12h`, `30m`) or by rows (`500`).

`monitoring.window: {size, step}` in params.yaml. A time window is [k x step, k x step + size) counted from the Unix
epoch in UTC, so the same log always gives the same windows; it is complete once its end has passed. A row window
holds the rows [k x step, k x step + size) of the log in (time, request id, instance) order; it is complete once the
log holds its last row. Only complete windows are assessed, so a re-run of a window sees the same rows.
The log's `time` is the server's clock when it answered, so its windows say `time: served` (tasks/core/data_time.py):
they are not data time, and only the wall clock decides whether a time window is complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from tasks.core.data_time import SERVED
from tasks.core.errors import PipelineError

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class WindowRule:
    """How windows are cut: by `time` (sizes as Timedeltas) or by `rows` (sizes as row counts)."""

    by: str  # "time" | "rows"
    size: pd.Timedelta | int
    step: pd.Timedelta | int

    def describe(self) -> str:
        unit = "" if self.by == "time" else " rows"
        return f"size {self.size}{unit}, step {self.step}{unit}"


@dataclass(frozen=True)
class Window:
    """One window: a stable id (file names, the history's key), its bounds, what their times mean, and its rows."""

    id: str
    start: str  # ISO time of the window's start (rows: the first row's time)
    end: str  # ISO time of its end, exclusive (rows: the last row's time)
    rows: pd.DataFrame
    time: str = SERVED  # what start and end are (tasks/core/data_time.py): the log's windows are served time

    def bounds(self) -> dict[str, str]:
        return {"id": self.id, "from": self.start, "to": self.end, "time": self.time}


def parse_rule(setting: object, where: str = "monitoring.window") -> WindowRule:
    """`{size: 7d, step: 7d}` or `{size: 500, step: 500}` (step defaults to size); a PipelineError naming `where`."""
    if not isinstance(setting, dict) or "size" not in setting:
        raise PipelineError(f"{where}: expected a mapping with 'size' (and optionally 'step'), got {setting!r}")
    unknown = sorted(set(setting) - {"size", "step"})
    if unknown:
        raise PipelineError(f"{where}: unknown key(s) {unknown}; expected 'size' and 'step'")
    size = _parse_size(setting["size"], f"{where}.size")
    step = _parse_size(setting.get("step", setting["size"]), f"{where}.step")
    if isinstance(size, int) != isinstance(step, int):
        raise PipelineError(f"{where}: size and step must both be durations or both be row counts")
    return WindowRule("rows" if isinstance(size, int) else "time", size, step)


def _parse_size(value: object, where: str) -> pd.Timedelta | int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise PipelineError(f"{where}: a row count must be at least 1, got {value}")
        return value
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise PipelineError(f"{where}: expected a duration such as 30m, 12h, 7d, 2w or a number of rows, got {value!r}")
    return pd.Timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def cut_windows(log: pd.DataFrame, rule: WindowRule, now: datetime | None = None) -> list[Window]:
    """The complete windows of `log` (ordered by time, as tasks.monitoring.log_reader returns it), oldest first."""
    if log.empty:
        return []
    if rule.by == "rows":
        return _row_windows(log, int(rule.size), int(rule.step))
    return _time_windows(log, pd.Timedelta(rule.size), pd.Timedelta(rule.step), now or datetime.now(UTC))


def last_window_end(rule: WindowRule, now: datetime) -> datetime | None:
    """The end of the last time window complete at `now`: no row at or after it is in a complete window, so the
    log's partitions from there on need not be read. None for row windows (they count rows from the log's start)."""
    if rule.by != "time":
        return None
    epoch = pd.Timestamp(0, tz="UTC")
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
    size, step = pd.Timedelta(rule.size), pd.Timedelta(rule.step)
    last = (stamp - epoch - size) // step  # the last k with k x step + size <= now
    return (epoch + last * step + size).to_pydatetime()


def _row_windows(log: pd.DataFrame, size: int, step: int) -> list[Window]:
    windows = []
    for first in range(0, len(log) - size + 1, step):
        rows = log.iloc[first : first + size]
        start, end = _iso(rows["time"].iloc[0]), _iso(rows["time"].iloc[-1])
        windows.append(Window(f"rows-{first:09d}-{first + size:09d}", start, end, rows))
    return windows


def _time_windows(log: pd.DataFrame, size: pd.Timedelta, step: pd.Timedelta, now: datetime) -> list[Window]:
    times = pd.to_datetime(log["time"], utc=True)
    epoch = pd.Timestamp(0, tz="UTC")
    now_ts = pd.Timestamp(now).tz_convert("UTC") if pd.Timestamp(now).tzinfo else pd.Timestamp(now, tz="UTC")
    first = (times.min() - epoch - size) // step + 1  # the earliest window that can hold the first row
    windows = []
    k = max(int(first), 0)
    while True:
        start = epoch + k * step
        end = start + size
        if end > now_ts or start > times.max():
            break
        inside = (times >= start) & (times < end)
        if inside.any():
            windows.append(Window(f"{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}", _iso(start), _iso(end), log[inside]))
        k += 1
    return windows


def _iso(moment: object) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat()

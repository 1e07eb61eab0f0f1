"""The retraining window policy: where a retraining run moves `collect.as_of` before it collects.

Monitoring compares the `monitor.window_days` days after `collect.as_of` with the training data and, on drift,
emits an event whose payload carries that window (`{"window": {"from": ..., "to": ...}}`). A retraining run takes
the drifted window into training: `collect.as_of` moves to the end of the window (`window.to`, data time: the last
drifted row's own timestamp, tasks/core/data_time.py), so the next model learns from the data that drifted, and
monitoring then watches the window after it. Without a data-time end in the payload (an alert raised by hand, a
window of the prediction log whose rows carry no time of their own, a window marked `time: served`), as_of moves
forward by `monitor.window_days`: never to the server's clock. It never moves backwards: an old or repeated
event leaves it where it is. The change is written to params.yaml (only the `as_of:` line of `collect:`, comments kept)
so DVC sees a params change and re-runs collect and everything after it; `dvc params diff` shows it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.data_time import is_data_time
from tasks.core.errors import PipelineError
from tasks.core.params import Params

_AS_OF_LINE = re.compile(r'^(?P<indent>[ \t]+)as_of:(?P<space>[ \t]*)(?P<value>"[^"]*"|\'[^\']*\'|[^\s#]+)', re.M)


@dataclass(frozen=True)
class WindowShift:
    previous_as_of: str
    as_of: str
    moved: bool
    rule: str  # which part of the policy decided

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def next_as_of(current: pd.Timestamp, payload: dict[str, Any] | None, window_days: int) -> tuple[pd.Timestamp, str]:
    """The new `collect.as_of` for a retraining run triggered with `payload`, and the rule that chose it."""
    window = (payload or {}).get("window") or {}
    if window.get("to") and not is_data_time(window):  # the server's clock is today's date, not the data's
        candidate = current + pd.Timedelta(days=window_days)
        rule = "monitor.window_days after the previous as_of (the event's window is served time, not data time)"
    elif window.get("to"):
        try:
            end = pd.Timestamp(window["to"])
        except (TypeError, ValueError):
            raise PipelineError(f"drift event payload: 'window.to' must be a date, got {window['to']!r}") from None
        if end.tzinfo is not None:  # production windows are UTC times; as_of is a naive UTC time
            end = end.tz_convert("UTC").tz_localize(None)
        candidate, rule = end, "end of the drifted window (event payload window.to)"
    else:
        candidate, rule = current + pd.Timedelta(days=window_days), "monitor.window_days after the previous as_of"
    if candidate <= current:
        return current, "unchanged: the event's window ends at or before the current as_of"
    return candidate, rule


def advance_as_of(params_file: Path, payload: dict[str, Any] | None) -> WindowShift:
    """Apply the policy to `params_file` (params.yaml) in place and say what changed."""
    params = Params.load(params_file)
    previous = str(params.raw("collect.as_of"))
    try:
        current = pd.Timestamp(previous)
    except (TypeError, ValueError):
        raise PipelineError(f"{params_file}: 'collect.as_of' must be a date, got {previous!r}") from None
    window_days = params.get("monitor.window_days", int, minimum=1)
    new, rule = next_as_of(current, payload, window_days)
    if new == current:
        return WindowShift(previous, previous, False, rule)
    text = format_as_of(new)
    write_as_of(file_holding_as_of(params, Path(params_file)), text)
    return WindowShift(previous, text, True, rule)


def file_holding_as_of(params: Params, params_file: Path) -> Path:
    """The params file that sets `collect.as_of`: the problem's own pipelines/<problem>/params.yaml where it sets it
    (the usual case: as_of belongs to tables with time), else params.yaml."""
    holder = params_file
    for source, data in params.layers:
        section = data.get("collect") if isinstance(data, dict) else None
        if isinstance(section, dict) and "as_of" in section:
            holder = Path(source)
    return holder


def format_as_of(moment: pd.Timestamp) -> str:
    """A date when the moment is midnight (as params.yaml writes it), else an ISO time."""
    return moment.strftime("%Y-%m-%d") if moment == moment.normalize() else moment.isoformat()


def write_as_of(params_file: Path, value: str) -> None:
    """Replace the value of `as_of:` inside the top-level `collect:` section, keeping every other line as it is."""
    text = params_file.read_text()
    section = re.search(r"^collect:[^\n]*\n(?P<body>(?:[ \t]+[^\n]*\n|[ \t]*\n)*)", text, re.M)
    match = _AS_OF_LINE.search(section.group("body")) if section else None
    if section is None or match is None:
        raise PipelineError(f"{params_file}: no 'as_of:' line under 'collect:' to move the data window forward")
    start = section.start("body") + match.start("value")
    end = section.start("body") + match.end("value")
    params_file.write_text(f'{text[:start]}"{value}"{text[end:]}')

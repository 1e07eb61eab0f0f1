"""What the times of a window mean: data time (the rows' own timestamps), or the time the server answered them.

Every window that monitoring writes says which (`time`): `data` when `from`/`to` are the first and last of the rows'
own timestamps (the DVC monitor stage's rows of the source, a batch with the problem's time column), `served` when
they are the server's clock as it answered (the prediction log's `time`: the rows carry no time of their own),
`none` when nothing says when the rows are from (a batch without a time column). Only
data time may move `collect.as_of` (tasks/monitoring/retraining.py): a served time is today's date, not where the data
that drifted lies. Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

DATA = "data"  # the rows' own timestamps
SERVED = "served"  # the server's clock when it answered (the prediction log's `time`)
NONE = "none"  # no time known (a batch without the problem's time column)


def iso(moment: Any) -> str:
    """ISO text of a moment: a naive time stays naive (as the data writes it), an aware one is given in UTC."""
    stamp = pd.Timestamp(moment)
    return (stamp if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat()


def data_window(stamps: pd.Series) -> dict[str, Any] | None:
    """`{from, to, time: data}`: the first and last of the rows' own timestamps; None when none is known."""
    known = pd.to_datetime(stamps, errors="coerce").dropna()
    if known.empty:
        return None
    return {"from": iso(known.min()), "to": iso(known.max()), "time": DATA}


def is_data_time(window: Mapping[str, Any]) -> bool:
    """Whether a window's `from`/`to` are data time. A window that does not say (an alert made by hand, a payload
    from before windows said it) is taken at its word; one that says `served` is not."""
    return window.get("time", DATA) == DATA


def event_window(window: Mapping[str, Any] | None, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The window a drift event carries: always data time. `data` (the rows' own times, when they have them) wins;
    a served-time window gives `from`/`to` None, with the served bounds under `served` and a `why`."""
    if data:
        return {**dict(data), "time": DATA}
    window = dict(window or {})
    if is_data_time(window):
        return window
    return {
        "id": window.get("id"),
        "from": None,
        "to": None,
        "time": DATA,
        "served": {"from": window.get("from"), "to": window.get("to")},
        "why": "the logged rows carry no time of their own; the window was cut by the time the server answered",
    }


def described(window: Mapping[str, Any]) -> str:
    """`from .. to` of an event's window in words, saying when it is not data time."""
    if window.get("to"):
        return f"{window.get('from')} .. {window['to']}"
    served = window.get("served") or {}
    if served.get("to"):
        return f"served {served.get('from')} .. {served['to']} (no data time)"
    return "no time known"

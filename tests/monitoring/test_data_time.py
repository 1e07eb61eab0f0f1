"""Windows and drift events carry data time (the rows' own timestamps), and a retraining run moves collect.as_of
only to data time: to the last drifted row's own time, never to the server's clock or today's date."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows.drift_event import drift_payload
from pipelines.bike_demand import PROBLEM
from tasks.core.params import Params
from tasks.kinds.table_drift import drift
from tasks.kinds.table_source import conform_columns
from tasks.monitoring.alert import window_payload
from tasks.monitoring.drift import measurer
from tasks.monitoring.drift_input import DriftSettings
from tasks.monitoring.retraining import advance_as_of
from tasks.monitoring.windows import cut_windows, parse_rule
from tests.conftest import SOURCE

pytestmark = pytest.mark.timeout(120)


def params_file(tmp_path: Path, as_of: str) -> Path:
    (tmp_path / "params.yaml").write_text(
        f'problem: bike_demand\ncollect:\n  as_of: "{as_of}"\nmonitor:\n  window_days: 30\n'
    )
    return tmp_path / "params.yaml"


def monitor_summary(as_of: str) -> dict:
    """What the DVC monitor stage writes to drift.json for the bundled bike data, training on the rows before
    `as_of` (the table kind's own drift, Evidently included)."""
    params = Params(
        {
            "collect": {"source": str(SOURCE), "as_of": as_of},
            "monitor": {"window_days": 30},
        }
    )
    rows = conform_columns(pd.read_csv(SOURCE), PROBLEM)
    train = rows[PROBLEM.derive_timestamp(rows) < pd.Timestamp(as_of)]
    return drift(PROBLEM, params, train, {}, measurer(DriftSettings())).summary


def test_the_monitor_stages_window_is_the_compared_rows_own_first_and_last_time() -> None:
    # the data ends on 2011-12-31 23:00: the 30 days asked for reach 2012-01-09, the rows do not
    summary = monitor_summary("2011-12-10")

    assert summary["status"] == "measured", summary
    assert summary["window"]["from"] == "2011-12-10T00:00:00"
    assert summary["window"]["to"] == "2011-12-31T23:00:00"
    assert summary["window"]["time"] == "data"
    assert summary["window"]["asked"] == {"from": "2011-12-10T00:00:00", "to": "2012-01-09T00:00:00", "time": "data"}


def test_a_retraining_on_the_monitor_stages_event_moves_as_of_to_the_drifted_rows_data_time(tmp_path: Path) -> None:
    payload = drift_payload(monitor_summary("2011-12-10"))  # what flows/monitoring.py emits for this drift.json
    params = params_file(tmp_path, "2011-12-10")

    shift = advance_as_of(params, payload)

    assert shift.moved and shift.as_of == "2011-12-31T23:00:00", shift
    assert yaml.safe_load(params.read_text())["collect"]["as_of"] == "2011-12-31T23:00:00"
    assert not shift.as_of.startswith(datetime.now(UTC).strftime("%Y-%m-%d"))


def served_window_verdict(rows: pd.DataFrame) -> dict:
    """A production verdict for the one window of a prediction log served today (the log's `time`)."""
    (window,) = cut_windows(rows, parse_rule({"size": len(rows)}))
    return {"model": "bike_demand", "version": 1, "window": window.bounds(), "signals_fired": ["data_drift"]}


def test_a_production_window_says_its_times_are_served_and_its_event_carries_no_served_time_as_data_time(
    tmp_path: Path,
) -> None:
    served = pd.Timestamp.now(tz="UTC").floor("s")
    log = pd.DataFrame({"time": [served + pd.Timedelta(seconds=s) for s in range(50)], "temp": 0.5})
    verdict = served_window_verdict(log)
    assert verdict["window"]["time"] == "served"

    payload = window_payload(verdict)

    assert payload["window"]["to"] is None and payload["window"]["time"] == "data"
    assert payload["window"]["served"]["to"] == verdict["window"]["to"]
    params = params_file(tmp_path, "2011-07-01")
    shift = advance_as_of(params, payload)
    assert shift.as_of == "2011-07-31" and "window_days" in shift.rule  # forward by the window, not to today


def test_a_production_window_whose_rows_carry_their_own_time_moves_as_of_to_it(tmp_path: Path) -> None:
    served = pd.Timestamp.now(tz="UTC").floor("s")
    own = pd.date_range("2011-07-01", periods=50, freq="h")
    log = pd.DataFrame({"time": [served + pd.Timedelta(seconds=s) for s in range(50)], "timestamp": own})
    verdict = {**served_window_verdict(log), "data_window": {"from": str(own[0]), "to": own[-1].isoformat()}}

    shift = advance_as_of(params_file(tmp_path, "2011-07-01"), window_payload(verdict))

    assert shift.as_of == "2011-07-03T01:00:00", shift


def test_a_served_time_window_passed_on_as_it_is_never_moves_as_of_to_the_servers_clock(tmp_path: Path) -> None:
    today = datetime.now(UTC).replace(microsecond=0).isoformat()
    payload = {"window": {"id": "rows-0-300", "from": today, "to": today, "time": "served"}}

    shift = advance_as_of(params_file(tmp_path, "2011-07-01"), payload)

    assert shift.as_of == "2011-07-31" and "served time" in shift.rule

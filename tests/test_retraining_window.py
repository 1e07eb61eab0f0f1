"""The retraining window policy writes `collect.as_of` where it is set: the problem's own params file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tasks.monitoring.retraining import advance_as_of


def test_moves_as_of_in_the_problem_params_file_that_sets_it(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("problem: demo\nreport:\n  keep: 20\n")
    own = tmp_path / "pipelines/demo/params.yaml"
    own.parent.mkdir(parents=True)
    own.write_text('collect:\n  as_of: "2011-05-01"   # comment kept\nmonitor:\n  window_days: 30\n')
    root_before = (tmp_path / "params.yaml").read_bytes()

    shift = advance_as_of(tmp_path / "params.yaml", {"window": {"to": "2011-05-31"}})

    assert (shift.previous_as_of, shift.as_of, shift.moved) == ("2011-05-01", "2011-05-31", True)
    assert yaml.safe_load(own.read_text())["collect"]["as_of"] == "2011-05-31"
    assert "# comment kept" in own.read_text()
    assert (tmp_path / "params.yaml").read_bytes() == root_before


@pytest.mark.timeout(60)
def test_a_windows_utc_data_time_end_moves_as_of_to_that_moment_without_a_zone() -> None:
    import pandas as pd

    from tasks.monitoring.retraining import next_as_of

    payload = {"window": {"id": "batch-june", "to": "2011-06-28T00:20:26.081900+00:00", "time": "data"}}
    moved, rule = next_as_of(pd.Timestamp("2011-05-01"), payload, 30)
    assert moved == pd.Timestamp("2011-06-28T00:20:26.081900") and rule.startswith("end of the drifted window")


@pytest.mark.timeout(60)
def test_a_served_time_window_end_does_not_move_as_of_to_the_servers_clock() -> None:
    import pandas as pd

    from tasks.monitoring.retraining import next_as_of

    payload = {"window": {"id": "rows-000000000-000000720", "to": "2026-11-28T00:20:26+00:00", "time": "served"}}
    moved, rule = next_as_of(pd.Timestamp("2011-05-01"), payload, 30)
    assert moved == pd.Timestamp("2011-05-31") and "served time" in rule

"""The drift benchmark scripts still work (small sizes; no time or rate is asserted). Run on demand: pytest -m slow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_drift_benchmark_reports_time_and_rss_of_each_engine() -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_drift.py"), "--rows", "20000"],
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((REPO / ".bench" / "bench_drift.json").read_text())["20000"]
    assert figures["ours"]["drifted_columns"] == ["num_0", "num_5", "cat_0"]
    assert figures["ours"]["peak_rss_mb"] > figures["data_only"]["peak_rss_mb"] > 0
    assert sorted(figures["evidently"]["drifted_columns"]) == ["cat_0", "num_0", "num_5"]


def test_false_alarm_script_scores_every_scenario() -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "false_alarms.py"), "--no-evidently", "--step-days", "15"],
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((REPO / ".bench" / "false_alarms.json").read_text())["results"]
    assert [r["days"] for r in results] == [7] * 4 + [30] * 4
    assert all(r["windows"] > 0 for r in results)

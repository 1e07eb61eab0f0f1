"""The drift benchmark scripts still work (small sizes; no time or rate is asserted). Run on demand: pytest -m slow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_drift_benchmark_reports_time_and_rss_of_each_engine(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_drift.py"), "--rows", "20000"],
        env={**os.environ, "TRAINLINE_BENCH_DIR": str(tmp_path)},  # its own folder, never a stale .bench/ summary
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((tmp_path / "bench_drift.json").read_text())["20000"]
    assert figures["ours"]["drifted_columns"] == ["num_0", "num_5", "cat_0"]
    assert figures["ours"]["peak_rss_mb"] > figures["data_only"]["peak_rss_mb"] > 0
    assert sorted(figures["evidently"]["drifted_columns"]) == ["cat_0", "num_0", "num_5"]


def test_false_alarm_script_scores_every_scenario(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "false_alarms.py"), "--no-evidently", "--step-days", "15"],
        env={**os.environ, "TRAINLINE_BENCH_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "false_alarms.json").read_text())["results"]
    assert [r["days"] for r in results] == [7] * 4 + [30] * 4
    assert all(r["windows"] > 0 for r in results)

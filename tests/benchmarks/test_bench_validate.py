"""The benchmark script itself still works (a small size; no time is asserted). Run on demand: pytest -m slow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("bench_validate.py")

pytestmark = pytest.mark.slow


def test_benchmark_validates_generated_bike_data_and_reports_figures(tmp_path: Path) -> None:
    rows = 50_000
    env = dict(os.environ, TRAINLINE_BENCH_DIR=str(tmp_path))  # never a stale summary from an earlier run
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", str(rows)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith(f"{rows:,} rows x 16 columns:") and "rows/s, peak RSS" in line
    assert line.endswith("passed=True")
    summary = json.loads(next((tmp_path / f"raw-{rows}" / "run" / "report").glob("summary.json")).read_text())
    assert summary["rows"] == rows and summary["failed"] == 0

"""The scale benchmark itself still works (2M rows; no time is asserted). Run on demand: pytest -m slow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("bench_scale.py")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_benchmark_runs_both_modes_with_the_same_verdict_and_statistics(tmp_path: Path) -> None:
    env = dict(os.environ, TRAINLINE_BENCH_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "2000000"], capture_output=True, text=True, timeout=800, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    case = json.loads((tmp_path / "bench_scale.json").read_text())["2000000"]
    assert case["same_verdict"] is True
    single, dask = case["single"], case["dask"]
    assert single["verdict"]["rows"] == dask["verdict"]["rows"] == 2_000_000
    assert single["ks"] == dask["ks"]
    assert dask["temp_mean"] == pytest.approx(single["temp_mean"], rel=1e-9)
    assert len(dask["peak_mb"]["workers"]) == 2 and all(mb > 50 for mb in dask["peak_mb"]["workers"])

"""The serving benchmark script itself still works (tiny model, few requests; no time is asserted).
Run on demand: pytest -m slow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("bench_serving.py")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_benchmark_serves_requests_without_errors_and_reports_figures() -> None:
    command = [sys.executable, str(SCRIPT), "--tiny", "--requests", "300", "--batch-requests", "60"]
    done = subprocess.run([*command, "--max-requests", "100"], capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((SCRIPT.parents[2] / ".bench/bench_serving.json").read_text())
    for run in ("single_row_log_on", "rows64_log_on", "single_row_log_off", "rows64_log_off"):
        assert results[run]["errors"] == 0 and results[run]["p99_ms"] > 0
    assert results["ratio_p50_single_row"] > 0 and results["log_files"] >= 1

"""The training benchmark script runs end to end on the bundled sample (slow; no assertion on speed)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_benchmark_reports_a_ratio(tmp_path: Path) -> None:
    from tests.benchmarks.bench_train import main

    result = main(["--train-images", "600", "--epochs", "1", "--repeats", "1", "--out", str(tmp_path / "b.json")])
    assert result["ratio"] > 0 and len(result["stage_samples_per_second"]) == 1
    assert (tmp_path / "b.json").is_file()

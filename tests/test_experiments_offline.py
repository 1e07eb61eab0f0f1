"""Two `dvc exp run`s with different params, then `dvc metrics diff` and `dvc plots diff` between them: both runs
show, and the plots page loads nothing from the network. Slow (two trainings): `pytest -m slow`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import FAST_TRAIN, copy_repository, run

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_two_experiments_diff_in_metrics_and_in_offline_plots(tmp_path: Path) -> None:
    workspace = copy_repository(tmp_path / "repo", {"train": FAST_TRAIN})
    run(["dvc", "repro"], workspace)
    run(["dvc", "exp", "run", "-n", "short", "-S", "train.epochs=5"], workspace)
    run(["dvc", "exp", "run", "-n", "slower", "-S", "train.learning_rate=0.001"], workspace)

    metrics = run(["dvc", "metrics", "diff", "short", "slower", "--md"], workspace).stdout
    assert re.search(r"\| reports/evaluation/metrics.json \| model.rmse +\| [\d.]+ +\| [\d.]+ ", metrics), metrics

    run(["dvc", "plots", "diff", "short", "slower", "-o", "plots"], workspace)
    page = (workspace / "plots/index.html").read_text()
    assert not re.search(r"<script[^>]*\ssrc\s*=", page, re.IGNORECASE)
    assert "vegaEmbed(" in page
    for name in ("short", "slower"):
        assert f'"rev": "{name}"' in page  # each run's data points are in the page

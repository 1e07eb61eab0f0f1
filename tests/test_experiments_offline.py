"""An experiment against the committed run: `dvc exp run` with other params, then `dvc metrics diff` and
`dvc plots diff` between the commit and the experiment. Both show, and the plots page loads nothing from the
network. In the default suite: the experiment starts from this test's copy of a workspace where `dvc repro` has
run and its results were committed, and trains for two epochs only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import external_loads
from tests.conftest import run

pytestmark = pytest.mark.e2e


def test_an_experiment_diffs_against_the_commit_in_metrics_and_in_offline_plots(pipeline_copy: Path) -> None:
    workspace = pipeline_copy
    run(["dvc", "exp", "run", "-n", "short", "-S", "train.epochs=2"], workspace)

    metrics = run(["dvc", "metrics", "diff", "HEAD", "short", "--md"], workspace).stdout
    row = re.search(r"\| reports/evaluation/metrics.json \| model.rmse +\| ([\d.]+) +\| ([\d.]+) ", metrics)
    assert row, metrics
    assert float(row.group(1)) < float(row.group(2)), metrics  # 25 epochs beat 2

    run(["dvc", "plots", "diff", "HEAD", "short", "-o", "plots"], workspace)
    page = workspace / "plots/index.html"
    text = page.read_text()
    assert external_loads(page) == []
    assert "vegaEmbed(" in text
    assert set(re.findall(r'"rev": "([^"]+)"', text)) >= {"HEAD", "short"}  # each run's data points are in the page

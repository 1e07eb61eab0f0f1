"""Two `dvc exp run`s with different params, then `dvc metrics diff` and `dvc plots diff` between them: both runs
show, and the plots page loads nothing from the network. In the default suite: each experiment starts from this
test's copy of a workspace where `dvc repro` has run, and trains for a few epochs only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import external_loads
from tests.conftest import run

pytestmark = pytest.mark.e2e


def test_two_experiments_diff_in_metrics_and_in_offline_plots(pipeline_copy: Path) -> None:
    workspace = pipeline_copy
    run(["dvc", "exp", "run", "-n", "short", "-S", "train.epochs=2"], workspace)
    run(["dvc", "exp", "run", "-n", "longer", "-S", "train.epochs=3"], workspace)

    metrics = run(["dvc", "metrics", "diff", "short", "longer", "--md"], workspace).stdout
    row = re.search(r"\| reports/evaluation/metrics.json \| model.rmse +\| ([\d.]+) +\| ([\d.]+) ", metrics)
    assert row, metrics
    assert row.group(1) != row.group(2), metrics  # two trainings, two results

    run(["dvc", "plots", "diff", "short", "longer", "-o", "plots"], workspace)
    page = workspace / "plots/index.html"
    text = page.read_text()
    assert external_loads(page) == []
    assert "vegaEmbed(" in text
    for name in ("short", "longer"):
        assert f'"rev": "{name}"' in text  # each run's data points are in the page

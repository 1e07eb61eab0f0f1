"""The three public tables' whole DAG (`dvc exp run -S problem=<name>` in a copy of the repository), each from its
bundled data and its configuration alone. Slow (a TensorFlow training per table): `make test-all`. The fast
counterparts (collect, validate and featurize of each, in process) are tests/test_public_tables.py.

These tables have missing feature values: training them needs the missing-value policy inside the model (issue 21,
item 2); until that lands, train refuses the NaN inputs and these tests fail at the train stage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import copy_repository, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STAGES = ["collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy", "monitor", "report"]


@pytest.mark.parametrize("problem", ["penguins", "car_mpg", "penguins_census"])
def test_the_whole_dag_runs_by_configuration_and_the_model_is_deployed(problem: str, tmp_path: Path) -> None:
    workspace = copy_repository(tmp_path / problem, {})
    done = run(["dvc", "exp", "run", "-S", f"problem={problem}"], workspace, timeout_s=1500)
    assert re.findall(r"Running stage '(\w+)'", done.stdout + done.stderr) == STAGES
    metrics = json.loads((workspace / "reports/evaluation/metrics.json").read_text())
    assert metrics["blessed"], metrics
    assert (workspace / f"data/model_store/{problem}/production.json").exists()
    card = json.loads((workspace / "data/export/model_card.json").read_text())
    assert card["signature"]["kind"] == "table"

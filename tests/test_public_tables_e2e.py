"""The three public tables' whole DAG (`dvc exp run -S problem=<name>` in a copy of the repository), each from its
bundled data and its configuration alone. Slow (a TensorFlow training per table): `make test-all`. The fast
counterparts (collect, validate and featurize of each, in process) are tests/test_public_tables.py.

These tables have missing feature values: after the DAG, rows of the table with a gap in a feature are served by the
real server from the store the DAG deployed to, each gap sent as null, left out, or as the source's NA marker."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tasks.store.model_store import ModelStore
from tests.conftest import copy_repository, run
from tests.serving.conftest import fast_settings
from tests.serving.live_server import live_server

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
    serve_rows_with_gaps(problem, workspace, tmp_path)


def rows_with_gaps(workspace: Path, spec: dict[str, Any]) -> tuple[list[str], pd.DataFrame]:
    features = [*spec["numeric"], *spec["categorical"]]
    raw = pd.read_parquet(workspace / "data/raw/data.parquet")
    gaps = raw.loc[raw[features].isna().any(axis=1), features].head(8)
    assert len(gaps), "the table has rows with missing feature values"
    return features, gaps


def as_instance(row: pd.Series, features: list[str], style: int, marker: str | None) -> dict[str, Any]:
    sent: dict[str, Any] = {}
    for name in features:
        value = row[name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if style == 0:
                sent[name] = None
            elif style == 2 and marker is not None:
                sent[name] = marker
            continue
        sent[name] = value.item() if isinstance(value, np.generic) else value
    return sent


def serve_rows_with_gaps(problem: str, workspace: Path, tmp_path: Path) -> None:
    """The deployed model answers rows with missing values through the real server: the same answer whether a gap
    is null, absent or the source's NA marker, every answer finite (a classifier's probabilities sum to 1)."""
    spec = json.loads((workspace / "data/features/spec.json").read_text())
    features, gaps = rows_with_gaps(workspace, spec)
    markers = [
        m
        for info in [*spec["numeric"].values(), *spec["categorical"].values()]
        for m in info.get("missing", {}).get("na_markers", [])
    ]
    store = ModelStore(workspace / "data/model_store", problem)
    answers = []
    with live_server(store, fast_settings(tmp_path)) as server:
        for style in (0, 1, 2):
            payload = {
                "instances": [
                    as_instance(r, features, style, markers[0] if markers else None) for _, r in gaps.iterrows()
                ]
            }
            answer = server.predict(problem, payload)
            assert answer.status == 200, answer.text
            answers.append(np.asarray(answer.body["predictions"], dtype=float))
    assert np.isfinite(answers[0]).all()
    np.testing.assert_allclose(answers[1], answers[0], atol=1e-6)
    np.testing.assert_allclose(answers[2], answers[0], atol=1e-6)
    if spec["task"] == "classification":
        np.testing.assert_allclose(answers[0].sum(axis=1), 1.0, atol=1e-4)


def test_an_experiment_in_a_temporary_copy_leaves_the_workspace_on_its_problem(tmp_path: Path) -> None:
    """`dvc exp run --temp -S problem=X` (README, "Experiments"): the workspace's params.yaml stays byte for byte
    and on its problem; the experiment is kept and `dvc exp apply` brings its params and metrics in."""
    workspace = copy_repository(tmp_path / "workspace", {})
    before = (workspace / "params.yaml").read_bytes()
    run(["dvc", "exp", "run", "--temp", "-n", "census", "-S", "problem=penguins_census"], workspace, timeout_s=1500)
    assert (workspace / "params.yaml").read_bytes() == before
    assert not (workspace / "reports/evaluation/metrics.json").exists()  # nothing ran in the workspace itself
    run(["dvc", "exp", "apply", "census"], workspace, timeout_s=300)
    assert "problem: penguins_census" in (workspace / "params.yaml").read_text()
    assert json.loads((workspace / "reports/evaluation/metrics.json").read_text())["blessed"]

"""A table with no time column, binary classification, added by a problem package alone (pipelines/breast_cancer/):
`dvc exp run -S problem=breast_cancer` in a temporary copy of the repository, from the bundled table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import copy_repository, run

# slow (make test-all): a whole DAG of a second table problem; fast counterparts: tests/test_table_kind.py and
# tests/test_public_tables.py (a table without time: collect, validate, a stratified split, safe names, named classes)
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workspace = copy_repository(tmp_path_factory.mktemp("breast_cancer"), {})
    done = run(["dvc", "exp", "run", "-S", "problem=breast_cancer"], workspace)
    (workspace / "exp_run.log").write_text(done.stdout + done.stderr)
    yield workspace


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_every_stage_runs_and_the_model_reaches_the_target_accuracy(workspace: Path) -> None:
    log = (workspace / "exp_run.log").read_text()
    assert re.findall(r"Running stage '(\w+)'", log) == [
        "collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy", "monitor", "report",
    ]  # fmt: skip
    metrics = read_json(workspace / "reports/evaluation/metrics.json")
    assert metrics["model"]["accuracy"] >= 0.96  # Heaton's Dense 100-50-25-1 reports 0.986
    assert metrics["blessed"] and set(metrics) >= {"common_sense", "majority_class", "logistic"}
    assert read_json(workspace / "data/deploy/receipt.json")["deployed"]
    assert (workspace / "data/model_store/breast_cancer/production.json").exists()
    assert not (workspace / "data/model_store/bike_demand").exists()


def test_the_split_is_stratified_and_the_classes_are_named(workspace: Path) -> None:
    spec = read_json(workspace / "data/features/spec.json")
    assert spec["classes"] == ["benign", "malignant"]  # the positive class last
    shares = {name: s["per_class"][1] / s["rows"] for name, s in spec["splits"].items()}
    assert max(shares.values()) - min(shares.values()) < 0.02  # each split keeps the malignant share (37%)
    assert "timestamp" not in pd.read_parquet(workspace / "data/features/test.parquet").columns
    record = read_json(workspace / "reports/evaluation/evaluation.json")
    assert record["objective"] == "binary" and set(record["classification"]["per_class"]) == {"benign", "malignant"}
    assert "malignant" in (workspace / "reports/evaluation/index.html").read_text()
    predictions = pd.read_csv(workspace / "reports/evaluation/predictions.csv")
    assert set(predictions["actual"]) == {"benign", "malignant"}


def test_safe_column_names_reach_the_serving_signature(workspace: Path) -> None:
    card = read_json(workspace / "data/export/model_card.json")
    signature = card["signature"]
    assert signature["kind"] == "table" and signature["objective"] == "binary"
    assert signature["inputs"][0]["name"] == "mean_radius" and len(signature["inputs"]) == 30
    assert signature["output"]["classes"] == ["benign", "malignant"] and signature["output"]["shape"] == [2]


def test_a_table_without_time_has_no_time_checks_and_monitor_reports_no_data(workspace: Path) -> None:
    summary = read_json(workspace / "reports/validation/summary.json")
    checks = json.dumps(summary)
    assert summary["success"] and "no_future_timestamps" not in checks and "no_gaps_longer_than" not in checks
    drift = read_json(workspace / "reports/monitoring/drift.json")
    assert drift["status"] == "no_data" and "no time column" in drift["reason"]

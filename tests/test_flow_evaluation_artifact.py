"""The flow's evaluation artifact: the headline Markdown built from the evaluate stage's files, with report links."""

from __future__ import annotations

import json
from pathlib import Path

from flows.training import evaluation_markdown


def test_no_artifact_before_evaluate_has_run(tmp_path: Path) -> None:
    assert evaluation_markdown(tmp_path) is None


def test_artifact_reads_metrics_and_blessing_and_links_the_reports(tmp_path: Path) -> None:
    metrics = {"model": {"rmse": 60.1, "mae": 41.6, "r2": 0.8}, "linear": {"rmse": 99.8, "mae": 70.6, "r2": 0.46}}
    blessing = {"blessed": False, "failed": ["FAILED vs production version 2: RMSE 60.1 vs 55.0"], "champion": None}
    (tmp_path / "reports/evaluation").mkdir(parents=True)
    (tmp_path / "data/evaluation").mkdir(parents=True)
    (tmp_path / "reports/evaluation/metrics.json").write_text(json.dumps({**metrics, "blessed": False}))
    (tmp_path / "data/evaluation/blessing.json").write_text(json.dumps(blessing))
    (tmp_path / "reports/evaluation/index.html").write_text("<html></html>")

    text = evaluation_markdown(tmp_path)

    assert text is not None
    assert "| candidate (model) | 60.100 | 41.600 | 0.800 |" in text
    assert "| linear | 99.800 | 70.600 | 0.460 |" in text
    assert "- FAILED vs production version 2: RMSE 60.1 vs 55.0" in text
    assert f"[evaluation report]({(tmp_path / 'reports/evaluation/index.html').resolve().as_uri()})" in text
    assert "all reports" not in text  # reports/index.html does not exist here: no dead link


# The artifact a real flow run stores on a Prefect server: tests/test_flow.py
# test_a_flow_run_publishes_the_evaluation_headline_artifact (it reads that module's one flow run over an up-to-date
# workspace rather than start a server and run the 11 DVC stages once more).

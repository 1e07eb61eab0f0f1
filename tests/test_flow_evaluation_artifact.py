"""The flow's evaluation artifact: the headline Markdown built from the evaluate stage's files, with report links."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.training import evaluation_markdown
from tests.prefect_harness import prefect_harness


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


@pytest.mark.e2e
def test_a_flow_run_publishes_the_evaluation_headline_artifact(pipeline_copy: Path) -> None:
    """On a real (test harness) Prefect server: the flow over an up-to-date workspace stores the artifact."""
    import asyncio

    from prefect.client.orchestration import get_client

    from flows.training import training_pipeline

    async def artifacts(flow_run_id: Any) -> list[dict[str, Any]]:
        # the raw endpoint: this client's read_artifacts sends nulls the 3.8.8 server rejects (422)
        body = {
            "artifacts": {"key": {"any_": ["evaluation-headline"]}, "flow_run_id": {"any_": [str(flow_run_id)]}},
            "limit": 10,
            "sort": "CREATED_DESC",
        }
        async with get_client() as client:
            response = await client._client.post("/artifacts/filter", json=body)
            response.raise_for_status()
            return response.json()

    with prefect_harness(startup_timeout_s=120):
        state = training_pipeline(repo=str(pipeline_copy), return_state=True)
        assert state.is_completed()
        stored = asyncio.run(artifacts(state.state_details.flow_run_id))

    metrics = json.loads((pipeline_copy / "reports/evaluation/metrics.json").read_text())
    assert len(stored) == 1 and stored[0]["type"] == "markdown"
    text = stored[0]["data"]
    assert text == evaluation_markdown(pipeline_copy)
    assert f"| candidate (model) | {metrics['model']['rmse']:.3f} |" in text
    assert (pipeline_copy / "reports/index.html").resolve().as_uri() in text

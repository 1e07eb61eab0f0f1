"""The Prefect flow runs the very same DVC stages, against a real (test harness) Prefect server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import copy_repository
from tests.prefect_harness import drain_prefect_workers, prefect_harness
from tests.workspaces import clone_workspace

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    with prefect_harness(startup_timeout_s=120):
        yield


# the flow's task runs: the preflight check, then one per stage
TASK_RUNS = ["preflight", "collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy"]
TASK_RUNS += ["monitor", "report"]


def flow_task_runs(flow_run_id) -> list[tuple[str, str]]:
    """(task run name, state name) of a flow run, in start order, read back from the server."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    async def read() -> list[tuple[str, str]]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                limit=100,
            )
        return [(r.name, r.state_name) for r in runs]

    # Prefect 3 records task runs through its event pipeline, a moment after the flow returns: poll (generously)
    # until every stage's task run and a final state are there, rather than read once and race it.
    import time

    deadline = time.monotonic() + 90  # returns as soon as all are there
    runs = asyncio.run(read())
    while time.monotonic() < deadline and (
        len(runs) < len(TASK_RUNS) or any(state not in ("Completed", "Failed", "Crashed") for _, state in runs)
    ):
        time.sleep(1)
        runs = asyncio.run(read())
    return runs


@dataclass(frozen=True)
class UpToDateRun:
    workspace: Path
    lock_before: str
    state: Any


@pytest.fixture(scope="module")
def up_to_date_run(
    prefect_server: None, pipeline_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> UpToDateRun:
    """ONE flow run over this module's copy of the newcomer's workspace (up to date), on the module's server: the
    tests below each check a claim about that run (a second run of 11 DVC stages and a server start would check
    nothing more). They only read the copy."""
    from flows.training import training_pipeline

    workspace = clone_workspace(pipeline_workspace, tmp_path_factory.mktemp("up_to_date") / "workspace")
    lock_before = (workspace / "dvc.lock").read_text()
    state = training_pipeline(repo=str(workspace), return_state=True)
    return UpToDateRun(workspace, lock_before, state)


def test_flow_on_an_up_to_date_repo_skips_every_stage_and_keeps_dvc_lock(up_to_date_run: UpToDateRun) -> None:
    state = up_to_date_run.state

    assert state.is_completed()
    assert state.result()["stages_run"] == []
    assert (up_to_date_run.workspace / "dvc.lock").read_text() == up_to_date_run.lock_before
    names = [name for name, _ in flow_task_runs(state.state_details.flow_run_id)]
    assert names == TASK_RUNS  # the production pointer check first, before any stage (flows/training.py)


def test_a_flow_run_publishes_the_evaluation_headline_artifact(up_to_date_run: UpToDateRun) -> None:
    """On a real (test harness) Prefect server: the flow over an up-to-date workspace stores the artifact (the
    artifact's Markdown itself: tests/test_flow_evaluation_artifact.py)."""
    import asyncio

    from prefect.client.orchestration import get_client

    from flows.training import evaluation_markdown

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

    workspace, state = up_to_date_run.workspace, up_to_date_run.state
    assert state.is_completed()
    stored = asyncio.run(artifacts(state.state_details.flow_run_id))

    metrics = json.loads((workspace / "reports/evaluation/metrics.json").read_text())
    assert len(stored) == 1 and stored[0]["type"] == "markdown"
    text = stored[0]["data"]
    assert text == evaluation_markdown(workspace)
    assert f"| candidate (model) | {metrics['model']['rmse']:.3f} |" in text
    assert (workspace / "reports/index.html").resolve().as_uri() in text


# The whole default DAG a second time, under Prefect (about 2 minutes): in `make test-all`. The default suite
# checks the same claim on the small DAG (tests/orchestration/test_flows.py, dvc.lock as dvc repro leaves it) and
# byte for byte against the committed dvc.lock for `make run` (tests/test_newcomer.py).
@pytest.mark.slow
def test_flow_from_nothing_gives_byte_for_byte_the_outputs_dvc_repro_gives(
    prefect_server: None, pipeline_workspace: Path, tmp_path: Path
) -> None:
    from flows.training import training_pipeline

    workspace = copy_repository(tmp_path, {})  # the committed params, as the newcomer's `make run` had them
    state = training_pipeline(repo=str(workspace), return_state=True)

    assert state.is_completed()
    result = state.result()
    assert result["stages_run"] == [
        "collect",
        "validate",
        "featurize",
        "tune",
        "train",
        "evaluate",
        "export",
        "deploy",
        "monitor",
        "report",
    ]
    runs = flow_task_runs(state.state_details.flow_run_id)
    assert [name for name, _ in runs] == TASK_RUNS
    assert all(state_name == "Completed" for _, state_name in runs)

    # Same inputs and params, same bytes: every DVC out of every stage (the model and the reports too) is what
    # `dvc repro` wrote in its own fresh copy, so a fresh clone's run leaves dvc.lock and `git status` as committed.
    # (Two runners, two folders, one result: the byte-reproducibility claim of README's "Reproducible" section.)
    def out_hashes(repo: Path) -> dict[str, str]:
        lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
        return {o["path"]: o["md5"] for stage in lock.values() for o in stage.get("outs", []) if "md5" in o}

    ours, theirs = out_hashes(workspace), out_hashes(pipeline_workspace)
    assert len(ours) >= 15  # every stage's outs, not a partial DAG
    assert {p: (ours.get(p), theirs.get(p)) for p in ours.keys() | theirs.keys() if ours.get(p) != theirs.get(p)} == {}
    # the committed, cache: false outs are the same bytes too (git would show them as changed)
    for path in ("reports/evaluation/metrics.json", "data/deploy/receipt.json", "reports/monitoring/drift.json"):
        assert (workspace / path).read_bytes() == (pipeline_workspace / path).read_bytes(), path
    # The bundled data drifts in May (see monitor): the flow tells Prefect, which can start a retraining run.
    assert result["drift"]["dataset_drift"] is True
    assert drift_events_for("trainline.model.bike_demand")


def drift_events_for(resource_id: str, wait_s: float = 180.0) -> list[dict]:
    """Drift events the server has stored for `resource_id`. Events leave this process through a background worker
    and the server stores them asynchronously: flush the worker first, then poll with a deadline generous enough
    for a loaded 2-core machine (it returns as soon as the event is there)."""
    import asyncio
    import time

    from prefect.client.orchestration import get_client

    from flows.training import DRIFT_EVENT

    async def read() -> list[dict]:
        async with get_client() as client:
            response = await client._client.post(
                "/events/filter",
                json={"filter": {"event": {"name": [DRIFT_EVENT]}, "any_resource": {"id": [resource_id]}}},
            )
            response.raise_for_status()
            return response.json()["events"]

    drain_prefect_workers()
    deadline = time.monotonic() + wait_s
    while True:
        events = asyncio.run(read())
        if events or time.monotonic() > deadline:
            return events
        time.sleep(1)

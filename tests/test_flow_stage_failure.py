"""When a stage fails under the Prefect flow: the run fails with the stage's own message, the stage is retried as the
flow configures it (train: one retry), and no later stage runs. On a real (test harness) Prefect server, in this
test's own copy of a workspace where `dvc repro` has run."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.prefect_harness import prefect_harness
from tests.workspaces import committed_yaml, merge_params

pytestmark = pytest.mark.e2e

# params.yaml's orchestrate.stages.train.retries (a lost worker, a killed process: a killed run resumes), plus the
# first attempt
TRAIN_ATTEMPTS = committed_yaml("params.yaml")["orchestrate"]["stages"]["train"]["retries"] + 1


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    with prefect_harness(startup_timeout_s=180):
        yield


def task_runs(flow_run_id: Any) -> list[tuple[str, str, int]]:
    """(name, state, run_count) of each task run of a flow run, in start order, read back from the server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    async def read() -> list[tuple[str, str, int]]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                limit=100,
            )
        return [(r.name, r.state_name or "", r.run_count) for r in runs]

    return asyncio.run(read())


def test_a_failing_stage_fails_the_run_with_its_message_after_its_retries_and_stops_the_dag(
    prefect_server: None, pipeline_copy: Path
) -> None:
    from flows.training import training_pipeline

    merge_params(pipeline_copy / "params.yaml", {"train": {"epochs": 0}})  # a mistake a user can make
    # the committed retries with a short backoff: the default one waits 10 s then 20 s, time no claim here is about
    stages = committed_yaml("params.yaml")["orchestrate"]["stages"]
    stages["train"]["retry_delay_s"] = 0.5
    merge_params(pipeline_copy / "params.yaml", {"orchestrate": {"stages": stages}})
    metrics = pipeline_copy / "reports/evaluation/metrics.json"
    metrics_before = hashlib.sha256(metrics.read_bytes()).hexdigest()

    state = training_pipeline(repo=str(pipeline_copy), return_state=True)

    assert state.is_failed()
    with pytest.raises(Exception) as failure:
        state.result()
    message = str(failure.value)
    assert "stage 'train' failed" in message, message
    assert "'train.epochs' must be >= 1, got 0" in message, message  # the stage's own clear message
    assert "Traceback" not in message
    runs = task_runs(state.state_details.flow_run_id)
    assert [name for name, _, _ in runs] == ["preflight", "collect", "validate", "featurize", "tune", "train"]
    assert all(state_name == "Completed" for _, state_name, _ in runs[:-1]), runs
    assert runs[-1][1] == "Failed" and runs[-1][2] == TRAIN_ATTEMPTS, runs
    assert hashlib.sha256(metrics.read_bytes()).hexdigest() == metrics_before  # evaluate never ran

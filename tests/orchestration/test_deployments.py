"""infra/prefect.yaml registers against a real server: schedules, the drift trigger (one run per burst of alerts,
parameters templated from the event) and the GPU work pools' base job templates."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orchestration.conftest import PrefectServer, run_async

pytestmark = pytest.mark.timeout(420)
REPO = Path(__file__).resolve().parents[2]
TEMPLATES = {
    "kubernetes": "infra/work-pools/kubernetes-gpu.json",
    "docker": "infra/work-pools/docker-gpu.json",
    "ecs": "infra/work-pools/ecs-gpu.json",
}


def prefect(server: PrefectServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = server.environment() | {"TRAINLINE_REPO": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def deployed(prefect_server: PrefectServer) -> Iterator[PrefectServer]:
    for pool in ("local", "gpu"):
        prefect(prefect_server, "work-pool", "create", pool, "--type", "process", "--overwrite")
    prefect(prefect_server, "--no-prompt", "deploy", "--all", "--prefect-file", "infra/prefect.yaml")
    yield prefect_server


async def _deployment(name: str):
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.read_deployment_by_name(name)


async def _runs_of(deployment_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


def test_training_runs_nightly_and_monitoring_hourly(deployed: PrefectServer) -> None:
    nightly = run_async(_deployment("training-pipeline/nightly"))
    hourly = run_async(_deployment("monitoring/hourly"))

    assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
    assert [s.schedule.cron for s in hourly.schedules] == ["15 * * * *"]
    assert nightly.work_pool_name == hourly.work_pool_name == "local"
    assert nightly.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]
    done = prefect(deployed, "deployment", "ls")
    for name in ("nightly", "hourly", "on-drift", "gpu"):
        assert name in done.stdout
    # README's "a run now": the run is created for the pool's worker (none runs here, so it stays queued)
    before = {run.id for run in run_async(_runs_of(nightly.id))}
    started = prefect(deployed, "deployment", "run", "training-pipeline/nightly")
    new_runs = [r for r in run_async(_runs_of(nightly.id)) if r.id not in before and not r.auto_scheduled]
    assert "Created flow run" in started.stdout and len(new_runs) == 1, started.stdout


EMIT = """
import json, sys
from prefect.events import emit_event
for share in json.loads(sys.argv[1]):
    emit_event(event="trainline.drift.detected", resource={"prefect.resource.id": "trainline.model.bike_demand"},
               payload={"drift_share": share, "window": {"from": "2011-05-01T00:00:00", "to": "2011-05-31T00:00:00"}})
"""


def test_a_burst_of_drift_events_starts_exactly_one_retraining_run_with_the_events_payload(
    deployed: PrefectServer,
) -> None:
    retraining = run_async(_deployment("retraining/on-drift"))
    assert run_async(_runs_of(retraining.id)) == []

    shares = [0.6, 0.7, 0.8, 0.9, 0.95]
    subprocess.run(
        [sys.executable, "-c", EMIT, json.dumps(shares)], env=deployed.environment(), check=True, timeout=120
    )
    deadline = time.monotonic() + 60
    runs: list = []
    while time.monotonic() < deadline and not runs:
        runs = run_async(_runs_of(retraining.id))
        time.sleep(1)
    time.sleep(8)  # the later events of the burst have been evaluated by now: none may add a run
    runs = run_async(_runs_of(retraining.id))

    assert len(runs) == 1
    parameters = runs[0].parameters
    assert parameters["payload"]["window"] == {"from": "2011-05-01T00:00:00", "to": "2011-05-31T00:00:00"}
    # one event of the burst: the server may evaluate events that arrive within milliseconds in any order
    share = parameters["payload"]["drift_share"]
    assert share in shares
    # the reason names the same event as the payload
    assert parameters["reason"] == f"drift detected on trainline.model.bike_demand (share {share})"


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_gpu_pool_base_job_template_is_accepted_by_the_server(prefect_server: PrefectServer, kind: str) -> None:
    prefect(
        prefect_server, "work-pool", "create", f"gpu-{kind}", "--type", kind, "--base-job-template", TEMPLATES[kind]
    )

    async def read():
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            return await client.read_work_pool(f"gpu-{kind}")

    pool = run_async(read())
    template = json.dumps(pool.base_job_template)
    assert "trainline-worker:gpu" in template
    if kind == "kubernetes":
        container = pool.base_job_template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]
        assert container["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "{{ gpu_count }}"
        assert container["nodeSelector"] == "{{ gpu_node_selector }}"
        assert container["tolerations"] == "{{ gpu_tolerations }}"
    if kind == "ecs":
        definition = pool.base_job_template["job_configuration"]["task_definition"]
        assert definition["containerDefinitions"][0]["resourceRequirements"] == [
            {"type": "GPU", "value": "{{ gpu_count }}"}
        ]

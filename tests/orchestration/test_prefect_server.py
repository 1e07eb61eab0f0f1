"""The pinned dependency set works with Prefect's own server (pins in pyproject.toml: sqlalchemy<2.1, fastapi<0.151).

Each test would have caught one break measured in ENVIRONMENT.md: with sqlalchemy 2.1 the scheduler fails on every
loop and a cron deployment never gets a run; with fastapi 0.151-0.154 the server answers 422 to the client's
listing calls and `prefect deployment ls` exits 1.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from tests.orchestration.conftest import PrefectServer, run_async

pytestmark = pytest.mark.timeout(360)


async def _cron_deployment(name: str) -> uuid.UUID:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule

    async with get_client() as client:
        flow_id = await client.create_flow_from_name(f"pins-{name}")
        return await client.create_deployment(
            flow_id=flow_id,
            name=name,
            entrypoint="flows/training.py:training_pipeline",
            schedules=[DeploymentScheduleCreate(schedule=CronSchedule(cron="* * * * *", timezone="UTC"), active=True)],
        )


async def _scheduled_runs(deployment_id: uuid.UUID) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


def test_scheduler_creates_runs_of_a_cron_deployment(prefect_server: PrefectServer) -> None:
    deployment_id = run_async(_cron_deployment(f"cron-{uuid.uuid4().hex[:6]}"))

    deadline = time.monotonic() + 90
    runs: list = []
    while time.monotonic() < deadline and not runs:
        runs = run_async(_scheduled_runs(deployment_id))
        time.sleep(1)

    assert runs, "the server's scheduler created no run of a deployment scheduled every minute within 90 s"
    assert {run.state_name for run in runs} == {"Scheduled"}
    assert all(run.auto_scheduled for run in runs)


def test_deployment_ls_answers_against_the_server(prefect_server: PrefectServer) -> None:
    name = f"listed-{uuid.uuid4().hex[:6]}"
    run_async(_cron_deployment(name))

    done = subprocess.run(
        [sys.executable, "-m", "prefect", "deployment", "ls"],
        env=prefect_server.environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert name in done.stdout

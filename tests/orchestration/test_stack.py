"""`make stack-up` / `stack-status` / `stack-down` for real (python -m infra.stack, what the Makefile runs), on a
working copy with the small DAG: deployments registered, scheduled runs created by the server on its own, a drift
event starting a retraining run that the stack's worker completes, and nothing left running afterwards."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.orchestration.workspace import small_dag_workspace

pytestmark = pytest.mark.timeout(600)


def stack_command(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.stack", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def processes_marked(folder: Path) -> list[int]:
    """Live processes whose environment carries this stack's marker."""
    marker = f"TRAINLINE_STACK={folder}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_stack_up_runs_schedules_and_a_drift_retraining_then_down_leaves_no_process(tmp_path: Path) -> None:
    workspace = small_dag_workspace(tmp_path / "ws")
    folder = tmp_path / "stack"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PREFECT_"))}
    env |= {
        "PYTHONPATH": str(workspace),
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",  # the scheduler's default pass is once a minute
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    try:
        up = stack_command("up", "--dir", str(folder), "--repo", str(workspace), cwd=workspace, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        status = stack_command("status", "--dir", str(folder), cwd=workspace, env=env)
        assert status.returncode == 0, status.stdout
        for name in ("seaweedfs", "prefect-server", "worker"):
            assert f"{name}" in status.stdout and "running (pid" in status.stdout
        state = json.loads((folder / "stack.json").read_text())
        assert state["prefect_api_url"].startswith("http://127.0.0.1:")
        assert state["s3_endpoint"].startswith("http://127.0.0.1:")
        # Credentials: generated for this stack, readable by its owner only, never in the working copy's git.
        assert stat.S_IMODE((folder / "env").stat().st_mode) == 0o600
        secret = next(line for line in (folder / "env").read_text().splitlines() if "AWS_SECRET_ACCESS_KEY" in line)
        assert secret.split("=", 1)[1].strip("'") not in (workspace / ".dvc/config.local").read_text()
        assert "stack" in (workspace / ".dvc/config.local").read_text()

        client_env = env | {"PREFECT_API_URL": state["prefect_api_url"], "PREFECT_HOME": str(tmp_path / "client")}
        check = subprocess.run(
            [sys.executable, "-c", CHECK, str(workspace)], env=client_env, capture_output=True, text=True, timeout=300
        )
        assert check.returncode == 0, check.stdout + check.stderr
        result = json.loads(check.stdout.strip().splitlines()[-1])
        assert result["scheduled"]["training-pipeline/nightly"] > 0
        assert result["scheduled"]["monitoring/hourly"] > 0
        assert result["retraining_states"] == ["Completed"], (folder / "logs/worker.log").read_text()[-3000:]
        assert (workspace / "data/prepared/rows.txt").read_text() == "rows before 2011-05-31\n"
    finally:
        down = stack_command("down", "--dir", str(folder), cwd=workspace, env=env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped: worker, prefect-server, seaweedfs" in down.stdout
    assert processes_marked(folder) == []
    after = stack_command("status", "--dir", str(folder), cwd=workspace, env=env)
    assert after.returncode == 3 and after.stdout.count("stopped") == 3


CHECK = """
import asyncio, json, subprocess, sys, time
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

async def runs(name):
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(name)
        only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        return await client.read_flow_runs(deployment_filter=only)

scheduled = {}
deadline = time.monotonic() + 60
for name in ("training-pipeline/nightly", "monitoring/hourly"):
    while not (found := asyncio.run(runs(name))) and time.monotonic() < deadline:
        time.sleep(1)
    scheduled[name] = len([r for r in found if r.state_name == "Scheduled"])
payload = json.dumps({"drift_share": 0.7, "window": {"from": "2011-05-01T00:00:00", "to": "2011-05-31T00:00:00"}})
subprocess.run([sys.executable, "-m", "prefect", "event", "emit", "trainline.drift.detected",
                "--resource-id", "trainline.model.model", "--payload", payload], check=True, timeout=120)
deadline = time.monotonic() + 180
states = []
while time.monotonic() < deadline:
    states = [r.state_name for r in asyncio.run(runs("retraining/on-drift"))]
    if states and all(s in ("Completed", "Failed", "Crashed", "Cancelled") for s in states):
        break
    time.sleep(2)
print(json.dumps({"scheduled": scheduled, "retraining_states": states}))
"""

"""The Prefect server restarting in the middle of a flow run: the run goes on and loses none of its outputs.

(A stage killed mid-run, a stage past its timeout and an S3 outage are tested beside the features they exercise:
test_flows.py and test_remote_stage.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra import stack
from tests.conftest import subprocess_env
from tests.orchestration.workspace import fault, lock_outs, small_dag_workspace

# Exhaustive fault case (a Prefect server restarted mid-run), in `make test-all`; the default suite keeps the
# retries, time-outs and killed stages of tests/orchestration/test_flows.py.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
REPO = Path(__file__).resolve().parents[2]
FLOW = """
import json, sys
from flows.training import training_pipeline
state = training_pipeline(repo=sys.argv[1], return_state=True)
print(json.dumps({"completed": state.is_completed(), "ran": state.result()["stages_run"]}))
"""


def test_server_restart_mid_run_keeps_the_run_going_and_its_outputs(tmp_path: Path) -> None:
    port = stack.free_port()
    home = tmp_path / "server"
    server = stack.start_prefect_server(home, port, tmp_path / "server.log")
    workspace = small_dag_workspace(tmp_path / "ws")
    fault(workspace, "train", "sleep", "15")
    log = tmp_path / "stage-runs.log"
    env = stack.quiet_environment() | {
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_HOME": str(tmp_path / "client"),
        "PYTHONPATH": str(REPO),
        "TRAINLINE_TEST_RUN_LOG": str(log),
    }
    flow = subprocess.Popen(
        [sys.executable, "-c", FLOW, str(workspace)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "train" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.3)
        assert "train" in log.read_text(), "train never started"
        stack.stop(server)  # while train runs
        server = stack.start_prefect_server(home, port, tmp_path / "server.log")  # same database, same port
        out, err = flow.communicate(timeout=240)
    finally:
        if flow.poll() is None:
            flow.kill()
        stack.stop(server)

    assert flow.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1]) == {
        "completed": True,
        "ran": ["prepare", "train", "evaluate", "monitor"],
    }
    twin = small_dag_workspace(tmp_path / "twin")
    subprocess.run(["dvc", "repro"], cwd=twin, env=subprocess_env(), check=True, capture_output=True, timeout=180)
    assert lock_outs(workspace) == lock_outs(twin)

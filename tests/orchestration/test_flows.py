"""The training, monitoring and retraining flows on a real Prefect server, over a small DAG (workspace.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import subprocess_env
from tests.orchestration.conftest import PrefectServer, run_async
from tests.orchestration.workspace import fault, lock_outs, set_orchestrate, small_dag_workspace

pytestmark = pytest.mark.timeout(300)
STAGES = ["prepare", "train", "evaluate", "monitor"]


@pytest.fixture
def run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "stage-runs.log"
    monkeypatch.setenv("TRAINLINE_TEST_RUN_LOG", str(log))
    return log


def dvc_repro_twin(tmp_path: Path) -> Path:
    twin = small_dag_workspace(tmp_path / "twin")
    done = subprocess.run(["dvc", "repro"], cwd=twin, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return twin


@pytest.fixture(scope="module")
def repro_outs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """dvc.lock's outs after `dvc repro` of the small DAG in a fresh copy of its own: made once for the tests that
    compare an orchestrated run with it (its stages are deterministic, and `orchestrate:`, where those tests' DAGs
    differ, is no DVC param)."""
    return lock_outs(dvc_repro_twin(tmp_path_factory.mktemp("repro")))


@pytest.fixture(scope="module")
def trained_small_dag(prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small DAG after one training flow run, where the retraining and monitoring tests start (each on a copy
    of its own): one training run for both rather than one each."""
    from flows.training import training_pipeline

    workspace = small_dag_workspace(tmp_path_factory.mktemp("trained") / "ws")
    training_pipeline(repo=str(workspace))
    return workspace


def trained_copy(trained_small_dag: Path, dest: Path) -> Path:
    """A full copy (git, DVC cache, outputs) of the trained small DAG for one test to change."""
    shutil.copytree(trained_small_dag, dest, symlinks=True)
    return dest


def artifacts_of(flow_run_id) -> dict[str, object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
            )

    return {a.key: a.data for a in run_async(read()) if a.key}


def test_training_flow_runs_every_stage_in_dag_order_and_leaves_dvc_lock_as_dvc_repro_does(
    prefect_server: PrefectServer, tmp_path: Path, run_log: Path, repro_outs: dict[str, dict[str, str]]
) -> None:
    from flows.training import training_pipeline

    workspace = small_dag_workspace(tmp_path / "ws")
    state = training_pipeline(repo=str(workspace), return_state=True)

    assert state.is_completed()
    assert state.result()["stages_run"] == STAGES
    assert [line.split()[0] for line in run_log.read_text().splitlines()] == STAGES
    assert lock_outs(workspace) == repro_outs
    artifacts = artifacts_of(state.state_details.flow_run_id)
    lineage = state.result()["lineage"]
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=workspace, text=True).strip()
    assert lineage["git_commit"] == head
    assert lineage["dvc_lock_sha256"] == hashlib.sha256((workspace / "dvc.lock").read_bytes()).hexdigest()
    assert lineage["dvc_lock_sha256"] in str(artifacts["run-lineage"])
    assert (workspace / "reports/evaluation/index.html").resolve().as_uri() in str(artifacts["evaluation-report"])
    assert "training-pipeline-summary" in artifacts

    again = training_pipeline(repo=str(workspace), return_state=True)
    assert again.result()["stages_run"] == []


def test_a_stage_killed_mid_run_is_retried_and_the_flow_completes(
    prefect_server: PrefectServer, tmp_path: Path, run_log: Path, repro_outs: dict[str, dict[str, str]]
) -> None:
    from flows.training import training_pipeline

    workspace = small_dag_workspace(tmp_path / "ws", {"stages": {"train": {"retries": 2, "retry_delay_s": 0}}})
    fault(workspace, "train", "kill")

    state = training_pipeline(repo=str(workspace), return_state=True)

    assert state.is_completed()
    assert [line.split()[0] for line in run_log.read_text().splitlines()].count("train") == 2
    assert lock_outs(workspace) == repro_outs


def test_a_stage_past_its_timeout_is_killed_and_the_flow_fails_naming_it(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    from flows.training import training_pipeline

    workspace = small_dag_workspace(tmp_path / "ws", {"stages": {"train": {"timeout_s": 2}}})
    fault(workspace, "train", "sleep", "60")

    began = time.monotonic()
    state = training_pipeline(repo=str(workspace), return_state=True)

    assert state.is_failed()
    assert time.monotonic() - began < 50  # killed, not waited out
    with pytest.raises(Exception, match=r"stage 'train' ran past its timeout of 2 s"):
        state.result()
    assert "train" not in yaml.safe_load((workspace / "dvc.lock").read_text())["stages"]


FLOW_IN_A_PROCESS = """
import json, sys
from flows.training import training_pipeline
state = training_pipeline(repo=sys.argv[1], return_state=True)
try:
    print(json.dumps({"ok": True, "ran": state.result()["stages_run"]}))
except Exception as err:
    print(json.dumps({"ok": False, "error": str(err)}))
"""


@pytest.mark.timeout(480)
def test_two_flow_runs_on_one_workspace_never_interleave_the_second_stops_with_a_clear_message(
    prefect_server: PrefectServer, tmp_path: Path, repro_outs: dict[str, dict[str, str]]
) -> None:
    workspace = small_dag_workspace(tmp_path / "ws")
    fault(workspace, "train", "sleep", "6")
    env = prefect_server.environment() | {"PYTHONPATH": str(Path.cwd())}
    first = subprocess.Popen(
        [sys.executable, "-c", FLOW_IN_A_PROCESS, str(workspace)], env=env, stdout=subprocess.PIPE, text=True
    )
    lock = workspace / ".dvc/tmp/trainline-flow.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.2)
    second = subprocess.run(
        [sys.executable, "-c", FLOW_IN_A_PROCESS, str(workspace)], env=env, capture_output=True, text=True, timeout=120
    )
    out, _ = first.communicate(timeout=120)

    assert json.loads(out.strip().splitlines()[-1]) == {"ok": True, "ran": STAGES}
    refused = json.loads(second.stdout.strip().splitlines()[-1])
    assert refused["ok"] is False
    assert f"workspace {workspace} is busy" in refused["error"]
    assert "orchestrate.lock_wait_s" in refused["error"]
    assert lock_outs(workspace) == repro_outs

    # With a wait long enough, the second run waits for the first and then finds nothing to do.
    set_orchestrate(workspace, lock_wait_s=60)
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["collect"]["as_of"] = "2011-06-01"  # every stage must run again (train still sleeps 6 s)
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    first = subprocess.Popen(
        [sys.executable, "-c", FLOW_IN_A_PROCESS, str(workspace)], env=env, stdout=subprocess.PIPE, text=True
    )
    time.sleep(4)
    second = subprocess.run(
        [sys.executable, "-c", FLOW_IN_A_PROCESS, str(workspace)], env=env, capture_output=True, text=True, timeout=120
    )
    out, _ = first.communicate(timeout=120)
    results = [json.loads(out.strip().splitlines()[-1]), json.loads(second.stdout.strip().splitlines()[-1])]
    assert all(r["ok"] for r in results), results
    assert sorted(len(r["ran"]) for r in results) == [0, len(STAGES)]


def test_retraining_moves_the_window_to_the_end_of_the_drifted_window_then_trains(
    trained_small_dag: Path, tmp_path: Path, run_log: Path
) -> None:
    from flows.retraining import retraining_pipeline

    workspace = trained_copy(trained_small_dag, tmp_path / "ws")
    payload = {"drift_share": 0.6, "window": {"from": "2011-05-01T00:00:00", "to": "2011-05-31T00:00:00"}}

    result = retraining_pipeline(reason="drift detected", payload=payload, repo=str(workspace))

    assert result["retraining"]["window"] == {
        "previous_as_of": "2011-05-01",
        "as_of": "2011-05-31",
        "moved": True,
        "rule": "end of the drifted window (event payload window.to)",
    }
    assert yaml.safe_load((workspace / "params.yaml").read_text())["collect"]["as_of"] == "2011-05-31"
    assert (workspace / "data/prepared/rows.txt").read_text() == "rows before 2011-05-31\n"
    assert result["stages_run"] == STAGES


def test_monitoring_flow_runs_only_the_monitor_stage_and_emits_the_drift_event(
    trained_small_dag: Path, tmp_path: Path, run_log: Path
) -> None:
    from flows.monitoring import monitoring_pipeline

    workspace = trained_copy(trained_small_dag, tmp_path / "ws")
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["monitor"]["window_days"] = 31  # only monitor depends on it
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run_log.write_text("")

    result = monitoring_pipeline(repo=str(workspace))

    assert result["ran"] is True, result
    assert result["drift_event"] is True, result
    assert [line.split()[0] for line in run_log.read_text().splitlines()] == ["monitor"]
    assert result["drift"]["window"]["to"] == "2011-05-31T00:00:00"


def test_orchestrate_params_naming_an_unknown_stage_fail_with_the_key(tmp_path: Path) -> None:
    from flows.orchestration_settings import load_settings
    from tasks.core.errors import PipelineError

    workspace = small_dag_workspace(tmp_path / "ws", {"pools": {"trian": "gpu"}})
    with pytest.raises(PipelineError, match=r"'orchestrate.pools.trian' names no stage of dvc.yaml"):
        load_settings(workspace, STAGES)

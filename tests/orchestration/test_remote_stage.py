"""A stage sent to another work pool (`orchestrate.pools.train: gpu`): a second working copy behind its own
process worker runs it, the DVC remote on SeaweedFS carries the data both ways, and the parent goes on with the
very bytes the worker produced."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import stack
from tests.conftest import subprocess_env
from tests.orchestration.conftest import S3, PrefectServer
from tests.orchestration.workspace import git, lock_outs, small_dag_workspace

pytestmark = pytest.mark.timeout(420)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dvc(root: Path, *args: str) -> str:
    done = subprocess.run(["dvc", *args], cwd=root, env=subprocess_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"dvc {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def use_remote(root: Path, bucket_url: str, endpoint: str) -> None:
    dvc(root, "remote", "add", "--local", "--force", "--default", "storage", bucket_url)
    dvc(root, "remote", "modify", "--local", "storage", "endpointurl", endpoint)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, s3: S3, tmp_path: Path) -> S3:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in s3.credentials.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return s3


@pytest.fixture
def gpu_worker(prefect_server: PrefectServer, aws: S3, tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """(parent working copy, the worker's own working copy, the stage-run log) with a process worker on pool `gpu`
    serving the deployment remote-stage/gpu from its copy."""
    log = tmp_path / "stage-runs.log"
    parent = small_dag_workspace(tmp_path / "parent", {"pools": {"train": "gpu"}})
    stack.s3_client(aws.endpoint_url, aws.credentials).create_bucket(Bucket="remote-stage")
    use_remote(parent, "s3://remote-stage/cache", aws.endpoint_url)
    worker_copy = tmp_path / "worker-copy"
    git(tmp_path, "clone", "-q", str(parent), str(worker_copy))
    env = (
        prefect_server.environment()
        | aws.credentials
        | {
            "AWS_EC2_METADATA_DISABLED": "true",
            "TRAINLINE_REPO": str(worker_copy),
            "TRAINLINE_WORKDIR": str(worker_copy),
            "TRAINLINE_TEST_RUN_LOG": str(log),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
        }
    )
    prefect = [sys.executable, "-m", "prefect"]
    for args in (
        ["work-pool", "create", "gpu", "--type", "process", "--overwrite"],
        ["--no-prompt", "deploy", "--prefect-file", "infra/prefect.yaml", "--name", "remote-stage/gpu"],
    ):
        done = subprocess.run([*prefect, *args], cwd=worker_copy, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
    worker = stack.spawn("worker", stack.worker_command("gpu"), env, tmp_path / "worker.log", worker_copy)
    try:
        yield parent, worker_copy, log
    finally:
        stack.stop(worker)


def test_train_runs_on_the_gpu_pool_worker_and_the_parent_evaluates_exactly_its_model(
    gpu_worker: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.training import training_pipeline

    parent, worker_copy, log = gpu_worker
    monkeypatch.setenv("TRAINLINE_TEST_RUN_LOG", str(log))

    state = training_pipeline(repo=str(parent), return_state=True)

    assert state.is_completed(), (tmp_path / "worker.log").read_text()[-3000:]
    ran_where = [tuple(line.split(maxsplit=1)) for line in log.read_text().splitlines()]
    assert ran_where == [
        ("prepare", str(parent)),
        ("train", str(worker_copy)),
        ("evaluate", str(parent)),
        ("monitor", str(parent)),
    ]
    remote_model = sha(worker_copy / "data/model/model.bin")
    assert sha(parent / "data/model/model.bin") == remote_model
    assert json.loads((parent / "reports/evaluation/metrics.json").read_text())["model_sha256"] == remote_model
    # dvc.lock ends as after a local `dvc repro` of the same commit and params, and DVC finds nothing to do.
    twin = small_dag_workspace(tmp_path / "twin")
    dvc(twin, "repro")
    assert lock_outs(parent) == lock_outs(twin)
    assert "up to date" in dvc(parent, "status")


def test_an_s3_outage_retries_with_backoff_then_fails_clearly_and_dispatches_nothing(
    prefect_server: PrefectServer, aws: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.training import training_pipeline

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    parent = small_dag_workspace(
        tmp_path / "parent", {"pools": {"train": "gpu"}, "stages": {"train": {"retries": 2, "retry_delay_s": 0.5}}}
    )
    use_remote(parent, "s3://remote-stage/cache", f"http://127.0.0.1:{stack.free_port()}")  # nothing listens

    began = time.monotonic()
    state = training_pipeline(repo=str(parent), return_state=True)

    assert state.is_failed()
    with pytest.raises(Exception, match=r"the DVC remote \(storage: s3://remote-stage/cache\) failed 3 times"):
        state.result()
    assert time.monotonic() - began > 1.5  # waited 0.5 s then 1 s between the attempts
    assert not (parent / "data/model").exists()
    assert "train" not in lock_outs(parent)

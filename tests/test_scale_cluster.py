"""The data stages against a real Dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1,
started from this venv's CLI, and `compute.scheduler: tcp://127.0.0.1:PORT`. A worker SIGKILLed mid-stage is
survived: Dask recomputes the lost partitions on the other worker and the stage writes the same bytes as the single
process. Slow variant, 1M rows: test_killed_worker_mid_stage_on_a_million_rows. Every worker killed: the stage stops
after distributed's no-workers timeout with one message naming the scheduler's address and writes nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tasks.scale.partitions as partitions
from tasks.core.compute import NO_WORKERS, Scheduler, dask_client, parse_scheduler
from tasks.core.errors import PipelineError
from tests.processes import kill_tree, subprocess_env
from tests.scale_data import bike_like, bike_rows
from tests.test_scale_equivalence import _validate

pytestmark = pytest.mark.timeout(300)
DASK = Path(subprocess_env()["PATH"].split(os.pathsep)[0]) / "dask"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A `dask` CLI process with the project's code importable, as in the worker image (PYTHONPATH=/app): the
    scheduler unpickles the stages' task graphs and the workers run the project's reductions."""
    from tests.conftest import REPO

    handle = log.open("wb")
    env = subprocess_env(PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [str(DASK), *args], env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """{"address": tcp://127.0.0.1:PORT, "workers": [two worker processes]}; everything killed afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    started = [_start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], tmp_path / "s.log")]
    try:
        for number in range(2):
            worker = ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard"]
            started.append(_start([*worker, "--name", f"w{number}"], tmp_path / f"w{number}.log"))
        with dask_client(parse_scheduler(address)) as client:
            client.wait_for_workers(2, timeout=60)
        yield {"address": address, "workers": started[1:]}
    finally:
        for process in reversed(started):
            kill_tree(process)


def _kill_after_first_chunk(monkeypatch: pytest.MonkeyPatch, *workers: subprocess.Popen[bytes]) -> list[int]:
    """Make the stage's partition stream SIGKILL `workers` once the first partition has reached the stage."""
    real, seen = partitions.stream, []

    def stream(client: Any, frame: Any, ahead: int | None = None, retries: int = 2) -> Iterator[pd.DataFrame]:
        for number, part in enumerate(real(client, frame, ahead, retries)):
            seen.append(len(part))
            if number == 0:
                for worker in workers:
                    os.kill(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=30)
            yield part

    monkeypatch.setattr(partitions, "stream", stream)
    return seen


def _killed_mid_stage(tmp_path: Path, frame: pd.DataFrame, cluster: dict[str, Any], monkeypatch, chunk_rows: int):
    raw = tmp_path / "raw" / "data.parquet"
    raw.parent.mkdir(parents=True)
    frame.to_parquet(raw, index=False, row_group_size=max(1, chunk_rows // 3))
    local = _validate(tmp_path / "local", raw, Scheduler(), chunk_rows)
    seen = _kill_after_first_chunk(monkeypatch, cluster["workers"][0])
    on_cluster = _validate(tmp_path / "cluster", raw, parse_scheduler(cluster["address"]), chunk_rows)
    assert cluster["workers"][0].poll() is not None  # the worker really died mid-stage
    assert len(seen) > 2 and sum(seen) == len(frame)  # partitions were still coming after it: all of them came
    assert on_cluster == local  # the same verdict and the same bytes: complete and identical
    with dask_client(parse_scheduler(cluster["address"])) as client:
        assert len(client.scheduler_info()["workers"]) == 1


def test_validate_runs_on_a_real_cluster_and_survives_a_killed_worker(
    tmp_path: Path, cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _killed_mid_stage(tmp_path, bike_rows(), cluster, monkeypatch, 1_200)


def test_every_worker_killed_mid_stage_stops_it_with_one_message_naming_the_scheduler(
    tmp_path: Path, cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slow counterpart, the featurize stage as dvc runs it: test_the_featurize_stage_without_workers_fails_cleanly."""
    import dask

    raw = tmp_path / "raw" / "data.parquet"
    raw.parent.mkdir(parents=True)
    bike_rows().to_parquet(raw, index=False, row_group_size=400)
    seen = _kill_after_first_chunk(monkeypatch, *cluster["workers"])
    started = time.monotonic()
    with dask.config.set({NO_WORKERS: "2s"}):
        message, files = _validate(tmp_path / "cluster", raw, parse_scheduler(cluster["address"]), 1_200)
    assert all(worker.poll() is not None for worker in cluster["workers"])  # both really died mid-stage
    assert len(seen) == 1 and time.monotonic() - started < 60
    assert message.startswith("'compute.scheduler': the Dask scheduler at " + cluster["address"])
    assert "has had no worker for 2 s" in message and "wrote nothing" in message
    assert files == {}  # nothing half written: no validated data, no report


def test_an_address_where_no_scheduler_answers_is_one_clear_message(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    expected = r"'compute\.scheduler' is .* but no Dask scheduler answered there"
    with pytest.raises(PipelineError, match=expected), dask_client(parse_scheduler(address), connect_s=2):
        pass
    assert time.monotonic() - started < 30


@pytest.mark.slow
def test_killed_worker_mid_stage_on_a_million_rows(
    tmp_path: Path, cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fast counterpart: test_validate_runs_on_a_real_cluster_and_survives_a_killed_worker (the bundled year)."""
    _killed_mid_stage(tmp_path, bike_like(1_000_000), cluster, monkeypatch, 250_000)


def _stage_workspace(root: Path, scheduler: str) -> Path:
    """A workspace the validate stage runs in as dvc runs it: params.yaml (with `compute.scheduler`), the code and
    problem packages, and data/raw/data.parquet as collect writes it (the rows before collect.as_of)."""
    from pipelines.bike_demand import PROBLEM
    from tasks.kinds.table_source import select_before
    from tests.conftest import REPO, SOURCE

    root.mkdir()
    params = (REPO / "params.yaml").read_text()
    assert "  scheduler: local " in params
    (root / "params.yaml").write_text(params.replace("  scheduler: local ", f"  scheduler: {scheduler} ", 1))
    for name in ("tasks", "pipelines"):
        (root / name).symlink_to(REPO / name)
    (root / "data" / "raw").mkdir(parents=True)
    rows = select_before(pd.read_csv(SOURCE), PROBLEM, pd.Timestamp("2011-05-01"))
    rows.to_parquet(root / "data" / "raw" / "data.parquet", index=False, row_group_size=500)
    return root


@pytest.mark.slow
def test_the_validate_stage_with_the_address_in_params_runs_on_the_cluster(
    tmp_path: Path, cluster: dict[str, Any]
) -> None:
    """`python -m tasks.checks.validate` (dvc.yaml's command) with `compute.scheduler: tcp://...`: the same outputs
    as with `local`, and the workers did the reading. Fast counterpart: the in-process tests above."""
    from tests.processes import run

    outputs = {}
    for name, scheduler in (("local", "local"), ("cluster", cluster["address"])):
        workspace = _stage_workspace(tmp_path / name, scheduler)
        done = run([sys.executable, "-m", "tasks.checks.validate"], workspace, check=False, timeout_s=240)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs[name] = {
            str(p.relative_to(workspace)): p.read_bytes()
            for folder in ("data/validated", "reports/validation")
            for p in sorted((workspace / folder).rglob("*"))
            if p.is_file()
        }
    assert outputs["cluster"] == outputs["local"] and "reports/validation/summary.json" in outputs["local"]
    with dask_client(parse_scheduler(cluster["address"])) as client:
        done_tasks = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.task_prefixes))
    assert done_tasks > 0  # the stage's partitions went through this scheduler


def _featurize_workspace(root: Path, scheduler: str) -> Path:
    """_stage_workspace plus data/validated as validate writes it (the feature view of the raw rows)."""
    from pipelines.bike_demand import PROBLEM
    from tasks.kinds.table_checks import feature_view

    workspace = _stage_workspace(root, scheduler)
    (workspace / "data" / "validated").mkdir(parents=True)
    rows = pd.read_parquet(workspace / "data" / "raw" / "data.parquet")
    feature_view(rows, PROBLEM).to_parquet(workspace / "data" / "validated" / "data.parquet", index=False)
    return workspace


@pytest.mark.slow
def test_the_featurize_stage_with_the_address_in_params_writes_the_same_files(
    tmp_path: Path, cluster: dict[str, Any]
) -> None:
    """`python -m tasks.features.featurize` with `compute.scheduler: tcp://...`: the spec fitted on the real workers,
    data/features byte-identical to `local`. Fast counterpart: tests/test_feature_spec_on_dask.py (LocalCluster)."""
    from tests.processes import run

    outputs = {}
    for name, scheduler in (("local", "local"), ("cluster", cluster["address"])):
        workspace = _featurize_workspace(tmp_path / name, scheduler)
        done = run([sys.executable, "-m", "tasks.features.featurize"], workspace, check=False, timeout_s=240)
        assert done.returncode == 0, done.stderr[-3000:]
        if name == "cluster":
            assert "on 2 Dask worker(s)" in done.stderr
        outputs[name] = {p.name: p.read_bytes() for p in sorted((workspace / "data" / "features").iterdir())}
    assert outputs["cluster"] == outputs["local"] and "spec.json" in outputs["local"]


@pytest.mark.slow
def test_the_featurize_stage_without_workers_fails_cleanly(tmp_path: Path, cluster: dict[str, Any]) -> None:
    """`python -m tasks.features.featurize` with `compute.scheduler: tcp://...` whose workers are all dead: exit 1,
    one message naming the address, data/features not written (a previous one would stay as it was). Fast
    counterpart: test_every_worker_killed_mid_stage_stops_it_with_one_message_naming_the_scheduler."""
    from tests.processes import run

    workspace = _featurize_workspace(tmp_path / "w", cluster["address"])
    for worker in cluster["workers"]:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    env = subprocess_env(DASK_DISTRIBUTED__SCHEDULER__NO_WORKERS_TIMEOUT="3s")
    done = run([sys.executable, "-m", "tasks.features.featurize"], workspace, check=False, timeout_s=240, env=env)
    assert done.returncode == 1, done.stderr[-3000:]
    failed = [line for line in done.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and cluster["address"] in failed[0] and "no worker for 3 s" in failed[0], done.stderr
    assert not (workspace / "data" / "features").exists()

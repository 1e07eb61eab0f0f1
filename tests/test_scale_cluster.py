"""The data stages against a real Dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1,
started from this venv's CLI, and `compute.scheduler: tcp://127.0.0.1:PORT`. A worker SIGKILLed mid-stage is
survived: Dask recomputes the lost partitions on the other worker and the stage writes the same bytes as the single
process. Slow variant, 1M rows: test_killed_worker_mid_stage_on_a_million_rows.
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
from tasks.core.compute import Scheduler, dask_client, parse_scheduler
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
    handle = log.open("wb")
    return subprocess.Popen(
        [str(DASK), *args], env=subprocess_env(), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
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


def _kill_after_first_chunk(monkeypatch: pytest.MonkeyPatch, worker: subprocess.Popen[bytes]) -> list[int]:
    """Make the stage's partition stream SIGKILL `worker` once the first partition has reached the stage."""
    real, seen = partitions.stream, []

    def stream(client: Any, frame: Any, ahead: int | None = None, retries: int = 2) -> Iterator[pd.DataFrame]:
        for number, part in enumerate(real(client, frame, ahead, retries)):
            seen.append(len(part))
            if number == 0:
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

"""flows/parallel.py: the flow's independent tasks fan out on prefect-dask's DaskTaskRunner per compute.scheduler.

Fast: the runner each setting gives. Slow (make test-all): a backlog of monthly batches checked by the flow on a
LocalCluster of 2 workers under a real Prefect server: the same verdicts as the checks called directly, in the batches'
order, run in the workers' processes (test_a_backlog_is_checked_in_parallel_on_dask_workers).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from flows.parallel import check_backlog, check_batch, task_runner
from tasks.core.compute import parse_scheduler
from tests.conftest import REPO
from tests.scale_data import bike_rows

pytestmark = pytest.mark.timeout(300)


def test_local_keeps_the_flows_default_runner_and_a_setting_picks_dask() -> None:
    from prefect_dask import DaskTaskRunner

    assert task_runner(parse_scheduler("local")) is None
    on_cluster = task_runner(parse_scheduler("tcp://127.0.0.1:8786"))
    assert isinstance(on_cluster, DaskTaskRunner) and on_cluster.address == "tcp://127.0.0.1:8786"
    local_cluster = task_runner(parse_scheduler("processes:2"))
    assert isinstance(local_cluster, DaskTaskRunner) and local_cluster.address is None
    assert local_cluster.cluster_kwargs["n_workers"] == 2 and local_cluster.cluster_kwargs["host"] == "127.0.0.1"


def _backlog(folder: Path) -> list[str]:
    rows = bike_rows()
    months = [g.reset_index(drop=True) for _, g in rows.groupby(rows["timestamp"].dt.to_period("M"))][4:8]
    months[1].loc[5, "hum"] = 1.7  # one bad batch among the good ones
    paths = []
    for number, month in enumerate(months):
        path = folder / f"batch-{number}.parquet"
        month.to_parquet(path, index=False)
        paths.append(str(path))
    return paths


@pytest.mark.slow
def test_a_backlog_is_checked_in_parallel_on_dask_workers(tmp_path: Path) -> None:
    """Fast counterpart: test_local_keeps_the_flows_default_runner_and_a_setting_picks_dask."""
    from tests.prefect_harness import prefect_harness

    repo = tmp_path / "repo"
    repo.mkdir()
    params = (REPO / "params.yaml").read_text().replace("scheduler: local", "scheduler: processes:2")
    (repo / "params.yaml").write_text(params)
    (repo / "pipelines").symlink_to(REPO / "pipelines")
    batches = _backlog(tmp_path)
    direct = [check_batch.fn(str(repo), b) for b in batches]
    with prefect_harness():
        verdicts = check_backlog(batches, str(repo))
    strip = [{k: v for k, v in d.items() if k != "pid"} for d in direct]
    assert [{k: v for k, v in d.items() if k != "pid"} for d in verdicts] == strip
    assert [v["passed"] for v in verdicts] == [True, False, True, True]
    assert any("hum" in f for f in verdicts[1]["failures"])
    assert {v["pid"] for v in verdicts}.isdisjoint({os.getpid()})  # they ran in the workers' processes
    assert pd.Series([v["rows"] for v in verdicts]).gt(600).all()

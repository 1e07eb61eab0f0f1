"""Independent work fanned out by Prefect on the `compute.scheduler` setting (tasks/core/compute.py).

`task_runner(scheduler)`: `local` keeps Prefect's default (threads in the flow's process, nothing started, no
dask import); `processes:N` a prefect-dask DaskTaskRunner on a LocalCluster of N workers; `tcp://host:port` a
DaskTaskRunner on that scheduler, so the flow's tasks run on the same Dask cluster as the data stages.

`check_backlog`: a backlog of source batches (Parquet or CSV files, e.g. the date partitions that arrived while a feed
was paused) checked each against the problem's suites and reference, one Prefect task per batch, in parallel; nothing
is written, the verdicts are returned in the batches' order.

    python -m flows.parallel data/incoming/2026-11-*.parquet
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from prefect import flow, task

from flows.training import REPO
from tasks.core.compute import Scheduler, scheduler_from_params


def task_runner(scheduler: Scheduler) -> Any | None:
    """The Prefect task runner for `scheduler`; None on local (the flow's own default)."""
    if scheduler.is_local:
        return None
    from prefect_dask import DaskTaskRunner

    if scheduler.address is not None:
        return DaskTaskRunner(address=scheduler.address)
    kwargs = {"n_workers": scheduler.workers, "threads_per_worker": 1, "host": "127.0.0.1", "dashboard_address": None}
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=kwargs)


@task(name="check-batch")
def check_batch(repo: str, batch: str) -> dict[str, Any]:
    """One batch through validate's checks (both suites, the extra checks, the reference): its verdict."""
    import pandas as pd

    from tasks.kinds.selection import select
    from tasks.kinds.table_checks import ValidateSettings, load_reference_profile, load_suite_json, validate_stream

    run = select(Path(repo) / "params.yaml")
    problem = run.problem
    frame = pd.read_csv(batch) if batch.endswith((".csv", ".csv.gz")) else pd.read_parquet(batch)
    if problem.timestamp in frame.columns:
        frame[problem.timestamp] = pd.to_datetime(frame[problem.timestamp])
    suites = load_suite_json(problem.suite_path("raw")), load_suite_json(problem.suite_path("features"))
    settings = ValidateSettings.from_params(run.params)
    result = validate_stream([frame], *suites, problem, settings, None, load_reference_profile(problem))
    failures = [f"[{f.suite}] {f.describe()}" for f in result.outcome.failures]
    verdict = {"batch": batch, "rows": result.rows, "passed": result.outcome.success, "failures": failures}
    return verdict | {"pid": os.getpid()}  # where it ran: a Dask worker's process when a scheduler is set


@flow(name="check-backlog")
def _check_backlog(batches: list[str], repo: str) -> list[dict[str, Any]]:
    futures = [check_batch.submit(repo, batch) for batch in batches]
    return [future.result() for future in futures]


def check_backlog(batches: list[str], repo: str = str(REPO)) -> list[dict[str, Any]]:
    """Run the check-backlog flow with the task runner `compute.scheduler` in the repo's params.yaml names."""
    from tasks.core.params import Params

    runner = task_runner(scheduler_from_params(Params.load(Path(repo) / "params.yaml")))
    chosen = _check_backlog if runner is None else _check_backlog.with_options(task_runner=runner)
    return chosen(batches, repo)


if __name__ == "__main__":
    import json

    print(json.dumps(check_backlog([str(Path(b).resolve()) for b in sys.argv[1:]]), indent=2))

"""Where the data stages compute: `compute.scheduler` in params.yaml, read here and nowhere else.

- `local` (the default): today's single process, chunked. Nothing starts and dask is never imported.
- `processes:N`: a Dask LocalCluster of N worker processes (one thread each), started for the stage and closed after.
- `tcp://host:port`: an existing Dask scheduler (a `dask scheduler` + `dask worker`s, dask-kubernetes, Coiled).

The setting is not a DVC param of any stage: where the work runs does not change what it writes (the Dask paths give
the same verdicts and statistics, tests/test_scale_equivalence.py), so switching it never re-runs the DAG.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tasks.core.errors import PipelineError

KEY = "compute.scheduler"
LOCAL = "local"
_PROCESSES = re.compile(r"processes:(\d+)")
_ADDRESS = re.compile(r"tcp://[^\s:/]+:(\d+)")
EXPECTED = "'local', 'processes:N' (N >= 1 worker processes) or a Dask scheduler address 'tcp://host:port'"


@dataclass(frozen=True)
class Scheduler:
    """A parsed `compute.scheduler`: `workers` for a LocalCluster, `address` for an existing cluster, neither: local."""

    setting: str = LOCAL
    workers: int | None = None
    address: str | None = None

    @property
    def is_local(self) -> bool:
        return self.workers is None and self.address is None


def parse_scheduler(value: Any, source: str = "params.yaml") -> Scheduler:
    """`value` as a Scheduler; a PipelineError naming the key and what is expected otherwise."""
    if value is None or value == LOCAL:
        return Scheduler()
    if isinstance(value, str):
        text = value.strip()
        if match := _PROCESSES.fullmatch(text):
            if int(match.group(1)) >= 1:
                return Scheduler(text, workers=int(match.group(1)))
        elif (match := _ADDRESS.fullmatch(text)) and 0 < int(match.group(1)) < 65536:
            return Scheduler(text, address=text)
    raise PipelineError(f"{source}: '{KEY}' must be {EXPECTED}, got {value!r}")


def scheduler_from_params(params: Any) -> Scheduler:
    """The setting of a loaded Params (tasks/core/params.py); `local` when the key is absent."""
    return parse_scheduler(params.raw(KEY, LOCAL), params.source)


@contextmanager
def dask_client(scheduler: Scheduler, connect_s: float = 20) -> Iterator[Any]:
    """A `distributed.Client` for a non-local setting: a LocalCluster started here (and closed on exit) or a
    connection to the scheduler at the address (given up after `connect_s`). dask is imported only here, only when
    asked for."""
    if scheduler.is_local:
        raise PipelineError(f"'{KEY}' is '{LOCAL}': the stage runs in this process, no Dask client")
    from distributed import Client, LocalCluster

    if scheduler.address is not None:
        try:
            client = Client(scheduler.address, timeout=f"{connect_s}s")
        except OSError as err:
            raise PipelineError(
                f"'{KEY}' is {scheduler.address!r} but no Dask scheduler answered there: {err}"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=scheduler.workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()

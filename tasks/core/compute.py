"""Where the data stages compute: `compute.scheduler` in params.yaml, read here and nowhere else.

- `local` (the default): today's single process, chunked. Nothing starts and dask is never imported.
- `processes:N`: a Dask LocalCluster of N worker processes (one thread each), started for the stage and closed after.
- `tcp://host:port`: an existing Dask scheduler (a `dask scheduler` + `dask worker`s, dask-kubernetes, Coiled).

A cluster that loses every worker does not hang the stage: `results` (every Dask result the stages wait for goes
through it) gives up after distributed's own `distributed.scheduler.no-workers-timeout` (dask config or
DASK_DISTRIBUTED__SCHEDULER__NO_WORKERS_TIMEOUT; 60 s when unset) without a worker and raises one PipelineError naming
the scheduler's address; a LocalCluster's scheduler is started with the same timeout. The stages write their outputs
atomically after the work, so nothing is half written.

The setting is not a DVC param of any stage: where the work runs does not change what it writes (the Dask paths give
the same verdicts and statistics, tests/test_scale_equivalence.py), so switching it never re-runs the DAG.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tasks.core.errors import PipelineError

KEY = "compute.scheduler"
LOCAL = "local"
_PROCESSES = re.compile(r"processes:(\d+)")
_ADDRESS = re.compile(r"tcp://[^\s:/]+:(\d+)")
NO_WORKERS = "distributed.scheduler.no-workers-timeout"
DEFAULT_NO_WORKERS_S = 60.0
POLL_S = 0.5
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
    import dask

    with dask.config.set({NO_WORKERS: f"{no_workers_timeout_s()}s"}):  # the scheduler gives up as `results` does
        cluster = LocalCluster(
            n_workers=scheduler.workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def no_workers_timeout_s() -> float:
    """distributed's `no-workers-timeout` in seconds (DEFAULT_NO_WORKERS_S when unset)."""
    import dask
    from dask.utils import parse_timedelta

    value = dask.config.get(NO_WORKERS, None)
    return DEFAULT_NO_WORKERS_S if value is None else float(parse_timedelta(value, default="s"))


def no_workers_message(address: str, seconds: float) -> str:
    return (
        f"'{KEY}': the Dask scheduler at {address} has had no worker for {seconds:g} s ({NO_WORKERS}): every worker "
        f"is gone, so the stage stopped and wrote nothing; start workers (dask worker {address}) and run it again"
    )


def results(client: Any, futures: Sequence[Any]) -> list[Any]:
    """The results of `futures`, in order, once all are done. Workers may come and go (Dask recomputes what a lost
    worker held); with no worker at all for `no_workers_timeout_s()` the futures are cancelled and one PipelineError
    names the scheduler's address."""
    from distributed import wait
    from distributed.scheduler import NoValidWorkerError
    from distributed.utils import CancelledError, TimeoutError

    address = client.scheduler.address
    limit, since = no_workers_timeout_s(), None
    while True:
        try:
            wait(list(futures), timeout=POLL_S)
            break
        except TimeoutError:
            if client.nthreads():
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since >= limit:
                client.cancel(list(futures))
                raise PipelineError(no_workers_message(address, limit)) from None
    try:
        return client.gather(list(futures))
    except NoValidWorkerError:  # the scheduler's own no-workers-timeout fired first
        raise PipelineError(no_workers_message(address, limit)) from None
    except CancelledError as err:
        raise PipelineError(f"'{KEY}': the Dask scheduler at {address} dropped the stage's work ({err})") from None
    except RuntimeError as err:
        if "deserializ" not in str(err):
            raise
        raise PipelineError(
            f"'{KEY}': the Dask scheduler at {address} could not load the stage's code: run the scheduler and the "
            "workers with the project importable (the worker image has it at /app; or PYTHONPATH=<checkout>)"
        ) from None

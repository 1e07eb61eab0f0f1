"""Partitioned tables as dask DataFrames, and their partitions streamed in order through a Dask client.

The stage's accumulators (the expectation suites, duplicate and gap checks, the reference checks) are fed partition
after partition in the order of the data, exactly as the single-process path feeds its chunks, so the verdicts are the
same. The workers read and decode the partitions (`ahead` of them in flight, so memory stays bounded on both sides);
a worker lost mid-stage has its tasks recomputed by Dask on the others (`retries` more for a task that raised).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.compute import Scheduler, dask_client, results
from tasks.core.errors import PipelineError

CSV_SUFFIXES = (".csv", ".csv.gz")
log = logging.getLogger(__name__)


def read_table(
    source: str | Path, columns: list[str] | None = None, storage_options: dict[str, Any] | None = None
) -> Any:
    """`source` (a Parquet file, a folder of Parquet files such as `date=YYYY-MM-DD/` partitions, a glob, or CSV)
    as a dask DataFrame: one partition per Parquet row group or file, CSV in 64 MB blocks (gzip: one per file).
    A URL (`s3://bucket/prefix/`) is read through fsspec by the workers; `storage_options` go to its filesystem
    (for S3: `{"client_kwargs": {"endpoint_url": ...}}`, credentials from the environment or `key`/`secret`)."""
    import dask
    import dask.dataframe as dd

    text = str(source)
    try:
        # object columns as pandas reads them (not pyarrow strings): the checks see the dtypes the local path sees
        with dask.config.set({"dataframe.convert-string": False}):
            if text.endswith(CSV_SUFFIXES):
                blocksize = None if text.endswith(".gz") else "64MB"
                return dd.read_csv(text, blocksize=blocksize, usecols=columns, storage_options=storage_options)
            return dd.read_parquet(text, columns=columns, split_row_groups=True, storage_options=storage_options)
    except FileNotFoundError:
        raise PipelineError(f"{text}: not found") from None
    except (OSError, ValueError) as err:
        raise PipelineError(f"{text}: not a readable partitioned table: {err}") from None


def stream(client: Any, frame: Any, ahead: int | None = None, retries: int = 2) -> Iterator[pd.DataFrame]:
    """The partitions of dask DataFrame `frame`, computed on the cluster behind `client`, in order; at most `ahead`
    (default: two per worker) computed or in flight at a time."""
    parts = iter(frame.to_delayed(optimize_graph=True))
    if ahead is None:
        ahead = max(2, 2 * len(client.scheduler_info().get("workers", {})))
    pending: deque[Any] = deque()

    def submit() -> None:
        part = next(parts, None)
        if part is not None:
            pending.append(client.compute(part, retries=retries))

    for _ in range(ahead):
        submit()
    while pending:
        future = pending.popleft()
        submit()
        chunk = results(client, [future])[0]  # no worker left for long: one PipelineError naming the address
        future.release()
        yield chunk


def rechunk(parts: Iterator[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """The rows of `parts`, in order, as frames of exactly `rows` rows (the last: the rest), index 0..n-1 each: the
    chunks the single-process path reads (pyarrow's `iter_batches(batch_size=rows)` spans row groups the same way),
    so every accumulator sees the same chunks and the reports are the same bytes."""
    waiting: list[pd.DataFrame] = []
    held = 0
    for part in parts:
        waiting.append(part)
        held += len(part)
        while held >= rows:
            joined = pd.concat(waiting, ignore_index=True) if len(waiting) > 1 else waiting[0].reset_index(drop=True)
            yield joined.iloc[:rows].reset_index(drop=True)
            rest = joined.iloc[rows:]
            waiting, held = ([rest] if len(rest) else []), len(rest)
    if held:
        yield pd.concat(waiting, ignore_index=True)


def stream_parquet(client: Any, path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The Parquet file (or folder of partitions) at `path`, read by the workers partition by partition, as chunks of
    `chunk_rows` rows in order."""
    if not Path(path).exists():
        raise PipelineError(f"{path}: not found; run the collect stage first")
    yield from rechunk(stream(client, read_table(path)), chunk_rows)


def chunks_on_cluster(scheduler: Scheduler, path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """`stream_parquet` through a client for `scheduler` (tasks/core/compute.py), open while the chunks are read."""
    with dask_client(scheduler) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        log.info("%s: read by %d Dask worker(s) of %s (compute.scheduler)", path, workers, scheduler.setting)
        yield from stream_parquet(client, path, chunk_rows)

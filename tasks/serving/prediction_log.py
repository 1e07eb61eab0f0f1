"""The prediction log: what the server saw and answered, in Parquet files that monitoring reads.

One row per instance: `request_id`, `instance` (its index in the request), `time` (UTC), `model`, `version`, the
inputs as typed columns `input.<name>` (JSON in `input` for a field that is not one value per instance), the output
as `output.values` (null when refused), `shadow_version` and `shadow_output.values` (when a shadow scored it),
`warnings` (out-of-range fields), `refused` (null when answered; `out_of_range` for a request refused for its values
in `serving.out_of_range: reject` mode, logged so monitoring sees what production was sent); the columns are
described in tasks/serving/log_table.py. Ground truth can later be joined on `request_id` + `instance`.

Requests only put their arrays on a bounded queue (`record()` never blocks: when the queue is full, rows are dropped
and counted); a writer thread collects them and writes when `flush_rows` rows wait, when the oldest has waited
`flush_s`, and on shutdown. Files are partitioned by the hour of the rows' time (Hive style, each file holds one hour):
`<dir>/date=YYYY-MM-DD/hour=HH/part-<time>-<id>.parquet`, in a local folder or an S3 prefix (`s3://bucket/prefix`,
credentials from the environment). Logs written before the hour partitions are `<dir>/date=YYYY-MM-DD/part-*.parquet`
(read as well).
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tasks.serving.log_table import layout, to_table

log = logging.getLogger(__name__)
_STOP = object()


@dataclass
class LoggedRequest:
    request_id: str
    time: datetime
    model: str
    version: int
    inputs: dict[str, np.ndarray]
    outputs: np.ndarray | None  # None: refused, not answered
    shadow_version: int | None = None
    shadow_outputs: np.ndarray | None = None
    warnings: list[str] | None = None
    refused: str | None = None

    @property
    def n(self) -> int:
        """The request's number of instances."""
        if self.outputs is not None:
            return len(self.outputs)
        return len(next(iter(self.inputs.values())))


class PredictionLog:
    def __init__(
        self,
        destination: str,
        flush_rows: int = 5000,
        flush_s: float = 30.0,
        queue_rows: int = 100_000,
        on_rows: Callable[[str, int], None] | None = None,
        s3_client: Any = None,
    ) -> None:
        self.destination = destination.rstrip("/")
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        self.queue_rows = queue_rows
        self.on_rows = on_rows or (lambda outcome, n: None)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._pending = 0  # rows queued, not yet written
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._s3 = s3_client
        if self.destination.startswith("s3://") and self._s3 is None:
            from tasks.data.s3_source import S3Settings, make_client

            self._s3 = make_client(S3Settings())
        self.files: list[str] = []

    def start(self) -> PredictionLog:
        self._thread.start()
        return self

    def record(self, entry: LoggedRequest) -> bool:
        """Queue one request's rows; never blocks. False (and counted) when the queue is full."""
        n = entry.n
        with self._lock:
            if self._pending + n > self.queue_rows:
                self.on_rows("dropped", n)
                return False
            self._pending += n
        self._queue.put(entry)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is waiting and stop the writer."""
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        # Entries wait as they came (their arrays); a flush turns them into columns a whole field at a time.
        buffer: list[LoggedRequest] = []
        rows = 0
        oldest = 0.0
        while True:
            wait = max(0.01, self.flush_s - (time.monotonic() - oldest)) if buffer else None
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._flush(buffer)
                return
            if item is not None:
                if not buffer:
                    oldest = time.monotonic()
                buffer.append(item)
                rows += item.n
            if buffer and (rows >= self.flush_rows or time.monotonic() - oldest >= self.flush_s):
                self._flush(buffer)
                buffer, rows = [], 0

    def _done(self, outcome: str, rows: int) -> None:
        self.on_rows(outcome, rows)
        with self._lock:
            self._pending -= rows

    def _flush(self, buffer: list[LoggedRequest]) -> None:
        """Write the entries: one file per hour of their time and layout (tasks/serving/log_table.py)."""
        groups: dict[tuple, list[LoggedRequest]] = {}
        for entry in buffer:
            groups.setdefault((f"{entry.time.astimezone(UTC):date=%Y-%m-%d/hour=%H}", layout(entry)), []).append(entry)
        for (partition, _), entries in groups.items():
            rows = sum(entry.n for entry in entries)
            try:
                table = to_table(entries)
            except Exception as err:  # entries that cannot be logged are dropped, never the writer
                ids = [entry.request_id for entry in entries][:3]
                log.error("prediction log: %d rows (requests %s...) not logged: %s", rows, ids, err)
                self._done("dropped", rows)
                continue
            try:
                self._write(partition, table)
                self._done("written", rows)
            except Exception as err:  # a failed write loses these rows, never the server
                log.error("prediction log: could not write %d rows to %s: %s", rows, self.destination, err)
                self._done("dropped", rows)

    def _write(self, partition: str, table: Any) -> None:
        import pyarrow.parquet as pq

        now = datetime.now(UTC)
        name = f"{partition}/part-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        if self.destination.startswith("s3://"):
            bucket, _, prefix = self.destination.removeprefix("s3://").partition("/")
            key = f"{prefix}/{name}" if prefix else name
            self._s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
            self.files.append(f"s3://{bucket}/{key}")
            return
        target = Path(self.destination) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name("." + target.name + ".partial")  # readers never see half a file
        partial.write_bytes(sink.getvalue())
        partial.rename(target)
        self.files.append(str(target))

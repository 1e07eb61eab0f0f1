"""The prediction log: what the server saw and answered, in Parquet files that monitoring reads.

One row per instance: `request_id`, `instance` (its index in the request), `time` (UTC), `model`, `version`,
`input` (JSON object of the instance's fields), `output` (JSON; null when refused), `shadow_version` and
`shadow_output` (when a shadow scored it), `warnings` (out-of-range fields), `refused` (null when answered;
`out_of_range` for a request refused for its values in `serving.out_of_range: reject` mode, logged so monitoring sees
what production was sent). Ground truth can later be joined on `request_id` + `instance`.

Requests only put their arrays on a bounded queue (`record()` never blocks: when the queue is full, rows are dropped
and counted); a writer thread turns them into rows and writes a file when `flush_rows` rows wait, when the oldest has
waited `flush_s`, and on shutdown. Files go to `<dir>/date=YYYY-MM-DD/part-<time>-<id>.parquet` in a local folder or
an S3 prefix (`s3://bucket/prefix`, credentials from the environment).
"""

from __future__ import annotations

import io
import json
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


def _json_cell(value: Any) -> str:
    return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value)


def to_rows(entry: LoggedRequest) -> list[dict[str, Any]]:
    rows = []
    for i in range(entry.n):
        rows.append(
            {
                "request_id": entry.request_id,
                "instance": i,
                "time": entry.time,
                "model": entry.model,
                "version": entry.version,
                "input": json.dumps({k: _plain(v[i]) for k, v in entry.inputs.items()}),
                "output": _json_cell(entry.outputs[i]) if entry.outputs is not None else None,
                "shadow_version": entry.shadow_version,
                "shadow_output": _json_cell(entry.shadow_outputs[i]) if entry.shadow_outputs is not None else None,
                "warnings": json.dumps(entry.warnings) if entry.warnings else None,
                "refused": entry.refused,
            }
        )
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        plain = value.tolist()
        return plain[0] if isinstance(plain, list) and len(plain) == 1 and value.ndim == 1 else plain
    return value.item() if isinstance(value, np.generic) else value


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
        # Each request becomes rows as it arrives, so the JSON work is spread evenly rather than done in one burst
        # at flush time (on 2 cores a burst holding the GIL shows in the requests' tail latency).
        buffer: list[dict[str, Any]] = []
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
                try:
                    buffer.extend(to_rows(item))
                except Exception as err:  # an entry that cannot be logged is dropped, never the writer
                    log.error("prediction log: request %s not logged: %s", item.request_id, err)
                    self._done("dropped", item.n)
            if buffer and (len(buffer) >= self.flush_rows or time.monotonic() - oldest >= self.flush_s):
                self._flush(buffer)
                buffer = []

    def _done(self, outcome: str, rows: int) -> None:
        self.on_rows(outcome, rows)
        with self._lock:
            self._pending -= rows

    def _flush(self, buffer: list[dict[str, Any]]) -> None:
        if not buffer:
            return
        try:
            self._write(buffer)
            self._done("written", len(buffer))
        except Exception as err:  # a failed write loses these rows, never the server
            log.error("prediction log: could not write %d rows to %s: %s", len(buffer), self.destination, err)
            self._done("dropped", len(buffer))

    def _write(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=log_schema())
        now = datetime.now(UTC)
        name = f"date={now:%Y-%m-%d}/part-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
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


def log_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("request_id", pa.string()),
            ("instance", pa.int32()),
            ("time", pa.timestamp("us", tz="UTC")),
            ("model", pa.string()),
            ("version", pa.int64()),
            ("input", pa.string()),
            ("output", pa.string()),
            ("shadow_version", pa.int64()),
            ("shadow_output", pa.string()),
            ("warnings", pa.string()),
            ("refused", pa.string()),
        ]
    )

"""The prediction log as the server wrote it before typed columns and hour partitions (kept to test that the monitor
still reads existing deployments' logs, and for tests/benchmarks/bench_monitor.py --log-format json): one row per
instance with the inputs as one JSON object cell and the output as a JSON cell, under `date=YYYY-MM-DD/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.serving.log_table import json_cell, plain_value, request_schema
from tasks.serving.prediction_log import LoggedRequest


def old_rows(entry: LoggedRequest) -> list[dict[str, Any]]:
    """The rows the server's writer made of one request before typed columns (its code then, unchanged)."""
    rows = []
    for i in range(entry.n):
        rows.append(
            {
                "request_id": entry.request_id,
                "instance": i,
                "time": entry.time,
                "model": entry.model,
                "version": entry.version,
                "input": json.dumps({k: plain_value(v[i]) for k, v in entry.inputs.items()}),
                "output": json_cell(entry.outputs[i]) if entry.outputs is not None else None,
                "shadow_version": entry.shadow_version,
                "shadow_output": json_cell(entry.shadow_outputs[i]) if entry.shadow_outputs is not None else None,
                "warnings": json.dumps(entry.warnings) if entry.warnings else None,
                "refused": entry.refused,
            }
        )
    return rows


def write_old_log(folder: Path, entries: list[LoggedRequest], name: str = "part-old.parquet") -> Path:
    """One file of the entries in the old layout, `date=<first entry's day>/<name>`."""
    rows = [row for entry in entries for row in old_rows(entry)]
    target = folder / f"date={entries[0].time:%Y-%m-%d}" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=request_schema()), target, compression="zstd")
    return target

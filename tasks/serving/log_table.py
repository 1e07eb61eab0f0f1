"""The prediction log's rows as typed Parquet columns (tasks/serving/prediction_log.py writes them).

One row per instance. The request's own columns: `request_id`, `instance` (its index in the request), `time` (UTC),
`model`, `version`, `shadow_version`, `warnings` (JSON list of out-of-range fields), `refused` (null when answered).
Each input field that holds one number, bool or string per instance is a typed column `input.<name>` (its serving
dtype: float32, int64, string...); a field that cannot be typed that way (an image, a sequence) goes, with the other
untyped fields of the row, into the JSON object cell `input` (null when every field is typed). The output is the
column `output.values` (list of the model's numbers per instance; null when refused), or the JSON cell `output`
when it is not numbers of one or two dimensions; `shadow_output.values` / `shadow_output` likewise.
Logs written before this layout hold every field in `input` and the output in `output` as JSON; the monitor reads
both (tasks/monitoring/log_reader.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

INPUT_PREFIX = "input."
VALUES = ".values"  # `output.values`, `shadow_output.values`
_PER_INSTANCE = ("instance", "input", "output", "shadow_output")


class Logged(Protocol):
    request_id: str
    time: datetime
    model: str
    version: int
    inputs: dict[str, np.ndarray]
    outputs: np.ndarray | None
    shadow_version: int | None
    shadow_outputs: np.ndarray | None
    warnings: list[str] | None
    refused: str | None

    @property
    def n(self) -> int: ...


def request_schema() -> pa.Schema:
    """The columns every file has, before the typed input columns."""
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


def _column_kind(array: np.ndarray) -> str | None:
    """The numpy kind an input is logged as in its own column, or None (JSON) when one instance is not one value."""
    if array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1):
        if array.dtype.kind in "biuf":
            return array.dtype.str
        if array.dtype.kind in "OU":
            return "string"
    return None


def _values_kind(array: np.ndarray | None) -> str:
    """`values` when the outputs are numbers of one or two dimensions (or absent), else `json`."""
    if array is None:
        return "values"
    return "values" if array.ndim in (1, 2) and array.dtype.kind in "biuf" else "json"


def layout(entry: Logged) -> tuple:
    """Entries with the same layout share one table (same columns, same types)."""
    fields = tuple((name, _column_kind(array)) for name, array in entry.inputs.items())
    return fields, _values_kind(entry.outputs), _values_kind(entry.shadow_outputs)


def to_table(entries: Sequence[Logged]) -> pa.Table:
    """One table of the entries' instances; all entries of one `layout`."""
    counts = np.array([entry.n for entry in entries], dtype=np.int64)
    per_request = pa.Table.from_pydict(
        {
            "request_id": [e.request_id for e in entries],
            "time": [e.time for e in entries],
            "model": [e.model for e in entries],
            "version": [e.version for e in entries],
            "shadow_version": [e.shadow_version for e in entries],
            "warnings": [json.dumps(e.warnings) if e.warnings else None for e in entries],
            "refused": [e.refused for e in entries],
        },
        schema=pa.schema([f for f in request_schema() if f.name not in _PER_INSTANCE]),
    )
    rows = per_request.take(pa.array(np.repeat(np.arange(len(entries)), counts)))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    instance = (np.arange(rows.num_rows) - np.repeat(starts, counts)).astype(np.int32)
    return columns_table(
        rows,
        instance,
        counts,
        {name: [e.inputs[name] for e in entries] for name in entries[0].inputs} if entries else {},
        [e.outputs for e in entries],
        [e.shadow_outputs for e in entries],
    )


def columns_table(
    rows: pa.Table,
    instance: np.ndarray,
    counts: np.ndarray,
    inputs: dict[str, list[np.ndarray]],
    outputs: list[np.ndarray | None],
    shadow_outputs: list[np.ndarray | None],
) -> pa.Table:
    """The log table: `rows` (one per instance: the request's columns), each instance's index in its request, and
    the inputs (per field, a list of arrays) and the outputs (a list of arrays, or None where refused, of `counts`
    instances each) as typed columns or JSON cells."""
    n = rows.num_rows
    typed: dict[str, pa.Array] = {}
    untyped: dict[str, np.ndarray] = {}
    for name, arrays in inputs.items():
        joined = np.concatenate(arrays) if arrays else np.zeros(0)
        column = _typed_input(joined) if _column_kind(joined) else None
        if column is None:
            untyped[name] = joined
        else:
            typed[INPUT_PREFIX + name] = column
    cells: list[str | None] = [None] * n
    if untyped:
        cells = [json.dumps({k: plain_value(v[i]) for k, v in untyped.items()}) for i in range(n)]
    output_cells, output_values = _outputs(outputs, counts)
    shadow_cells, shadow_values = _outputs(shadow_outputs, counts)
    columns = {
        "request_id": rows["request_id"],
        "instance": pa.array(instance, pa.int32()),
        "time": rows["time"],
        "model": rows["model"],
        "version": rows["version"],
        "input": pa.array(cells, pa.string()),
        "output": output_cells,
        "output" + VALUES: output_values,
        "shadow_version": rows["shadow_version"],
        "shadow_output": shadow_cells,
        "shadow_output" + VALUES: shadow_values,
        "warnings": rows["warnings"],
        "refused": rows["refused"],
        **typed,
    }
    return pa.table(columns)


def _typed_input(values: np.ndarray) -> pa.Array | None:
    flat = values.reshape(len(values))
    if flat.dtype.kind not in "OU":
        return pa.array(flat)
    try:
        return pa.array(flat, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all strings: logged as JSON
        return None


def _outputs(per_request: list[np.ndarray | None], counts: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """(JSON cells, list-of-numbers column) for the outputs of the requests of `counts` instances (None: refused,
    null)."""
    n = int(counts.sum())
    present = [a for a in per_request if a is not None]
    if any(_values_kind(a) == "json" for a in present):
        cells = [
            None if a is None else json_cell(a[i])
            for a, count in zip(per_request, counts, strict=True)
            for i in range(count)
        ]
        return pa.array(cells, pa.string()), pa.nulls(n, pa.list_(pa.float64()))
    dtype = np.result_type(*present) if present else np.dtype("float64")
    widths, flats, refused = [], [], []
    for array, count in zip(per_request, counts, strict=True):
        if array is None:
            widths.append(np.zeros(count, np.int32))
            refused.append(np.ones(count, bool))
            continue
        flat = array.reshape(len(array), -1)
        flats.append(flat.reshape(-1).astype(dtype, copy=False))
        widths.append(np.full(len(flat), flat.shape[1], dtype=np.int32))
        refused.append(np.zeros(len(flat), bool))
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(widths))]) if widths else np.zeros(1)
    values = pa.array(np.concatenate(flats) if flats else np.zeros(0, dtype))
    mask = pa.array(np.concatenate(refused)) if refused and not all(a is not None for a in per_request) else None
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values, mask=mask)
    return pa.nulls(n, pa.string()), lists


def json_cell(value: Any) -> str:
    """A value as the JSON text of a log cell (arrays as lists)."""
    return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value)


def plain_value(value: Any) -> Any:
    """A numpy value or one-element array as the plain Python value JSON writes."""
    if isinstance(value, np.ndarray):
        plain = value.tolist()
        return plain[0] if isinstance(plain, list) and len(plain) == 1 and value.ndim == 1 else plain
    return value.item() if isinstance(value, np.generic) else value

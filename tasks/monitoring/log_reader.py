"""Read back the server's prediction log (tasks/serving/prediction_log.py) as one frame, joined with ground truth.

The log is Parquet under `<dir>/date=YYYY-MM-DD/hour=HH/part-*.parquet` (or `<dir>/date=YYYY-MM-DD/part-*.parquet`,
written before the hour partitions), one row per instance: `request_id`, `instance`, `time`, `model`, `version`, the
inputs as typed columns `input.<field>` and the output as `output.values` (tasks/serving/log_table.py), or, in files
written before those columns and for values that cannot be typed, `input` (a JSON object of the instance's fields)
and `output` (JSON); `refused` (why the server refused the instance, null when it answered; absent from logs written
before it existed). Both kinds of file are read, also in one log, without parsing JSON for typed columns. Ground
truth arrives later as Parquet files (default `<dir>/ground_truth/*.parquet`) with `request_id`, `instance` and the
target column; the target may also be named `label` (what the server's feedback route writes,
tasks/serving/feedback.py). It is
joined on (`request_id`, `instance`), the last file's value (in name order) winning for a pair delivered twice, so a
label that arrives late, or a correction, updates the windows it belongs to when they are assessed again.

The frame returned has the log's columns (`refused` always), one column per input field, `prediction` (the output:
a number for a regression, the class probabilities for a classifier; None where refused), and the target column
where ground truth is known.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.core.errors import PipelineError
from tasks.monitoring.log_files import LogFolder, log_file_names, log_folder
from tasks.serving.log_table import INPUT_PREFIX, VALUES

LOG_COLUMNS = ("request_id", "instance", "time", "model", "version", "input", "output")
REFUSED = "refused"
KEY = ["request_id", "instance"]
GROUND_TRUTH_DIR = "ground_truth"
LABEL = "label"  # the target's name in the server's feedback files
OUTPUT_VALUES = "output" + VALUES


def _folder(location: Path | str | LogFolder) -> LogFolder:
    return location if isinstance(location, LogFolder) else log_folder(location)


def log_files(log_dir: Path) -> list[Path]:
    """The log's complete files in both layouts (half-written `.partial` files and the ground truth folder left
    out), sorted."""
    return [log_dir / name for name in log_file_names(LogFolder(str(log_dir)))]


def read_prediction_log(
    log_dir: Path | str | LogFolder,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Every logged instance of `model` (all models when None) with `since <= time < until` (either open when
    None), ordered by time, request id and instance; from a local folder or an s3:// prefix
    (tasks/monitoring/log_files.py). Only the partitions that can hold such times are read. Files with typed
    columns (tasks/serving/log_table.py) and files with JSON cells (written before) are read alike.

    Raises a PipelineError naming the file when one is not a prediction log file (missing columns, unreadable).
    """
    folder = _folder(log_dir)
    tables = [_read_file(folder, name) for name in log_file_names(folder, since, until)]
    if not tables:
        return pd.DataFrame(columns=[*LOG_COLUMNS, REFUSED, "prediction"])
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise PipelineError(f"{folder.root}: the log's files disagree on a column's type: {err}") from None
    stamp = table.schema.field("time").type
    for keep in (
        None if model is None else pc.equal(table["model"], model),
        None if since is None else pc.greater_equal(table["time"], pa.scalar(since, stamp)),
        None if until is None else pc.less(table["time"], pa.scalar(until, stamp)),
    ):
        if keep is not None and not pc.all(keep).as_py():  # a filter copies every column: only when it drops rows
            table = table.filter(keep)
    table = _in_order(table)
    typed = [name for name in table.column_names if name.startswith(INPUT_PREFIX)]
    prediction = _prediction(table, pd.RangeIndex(table.num_rows))
    if table["input"].null_count < table.num_rows:  # JSON cells (older files, untyped fields): parsed, then joined
        log = table.select([*LOG_COLUMNS, REFUSED]).to_pandas()
        fields = _fields(table, typed, log.index)
        log = log.assign(prediction=prediction)
        return pd.concat([log, fields[[c for c in fields.columns if c not in log.columns]]], axis=1)
    own = {*LOG_COLUMNS, REFUSED, "prediction"}  # a field named like the log's own columns is left out, as before
    kept = [name for name in typed if name[len(INPUT_PREFIX) :] not in own]
    log = table.select([*LOG_COLUMNS, REFUSED, *kept]).rename_columns(
        [*LOG_COLUMNS, REFUSED, *(name[len(INPUT_PREFIX) :] for name in kept)]
    )
    frame = _to_pandas(log)
    frame.insert(len(LOG_COLUMNS) + 1, "prediction", prediction)
    return frame


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """`table` as a frame in one conversion, a block per column (nothing concatenated or copied afterwards); the
    request ids, nearly all distinct, without Arrow's look-up of equal strings (10x the conversion's time)."""
    empty = [c for c in ("input", "output") if c in table.column_names and table[c].null_count == table.num_rows]
    frame = table.drop_columns(["request_id", *empty]).to_pandas(split_blocks=True)
    frame.insert(0, "request_id", table["request_id"].to_pandas(deduplicate_objects=False).to_numpy())
    for name in empty:  # JSON cells no row has (typed columns): a column of None, made without converting nulls
        frame.insert(table.column_names.index(name), name, np.full(table.num_rows, None, dtype=object))
    return frame


def _in_order(table: pa.Table) -> pa.Table:
    """`table` ordered by (time, request id, instance); left as it is when it already is (a take copies every
    column), as one server's log, read in file-name order, mostly is."""
    times = table["time"]
    if table.num_rows < 2:
        return table
    later = pc.greater(times.slice(1), times.slice(0, table.num_rows - 1))
    if pc.all(later).as_py():
        return table
    order = pc.sort_indices(table, [(c, "ascending") for c in ("time", "request_id", "instance")])
    if pc.all(pc.equal(order, pa.array(np.arange(table.num_rows, dtype=np.uint64)))).as_py():
        return table
    return table.take(order)


def _read_file(folder: LogFolder, name: str) -> pa.Table:
    """One file's columns that monitoring reads, with the types every file gets (floats as float64, integers as
    int64: what the JSON cells of older files parse to) and `refused` / `output.values` added when absent."""
    path = folder.where(name)
    try:
        data = pa.BufferReader(folder.read(name))
        schema = pq.read_schema(data)
        missing = [c for c in LOG_COLUMNS if c not in schema.names]
        if missing:
            raise ValueError(f"missing {missing}")
        wanted = [*LOG_COLUMNS, REFUSED, OUTPUT_VALUES, *(n for n in schema.names if n.startswith(INPUT_PREFIX))]
        table = pq.read_table(data, columns=[n for n in wanted if n in schema.names])
    except PipelineError:
        raise
    except Exception as err:  # pyarrow raises several kinds for a corrupt or foreign file
        expected = list(LOG_COLUMNS)
        raise PipelineError(f"{path}: not a prediction log file (expected columns {expected}): {err}") from None
    if REFUSED not in table.column_names:
        table = table.append_column(REFUSED, pa.nulls(table.num_rows, pa.string()))
    if OUTPUT_VALUES not in table.column_names:
        table = table.append_column(OUTPUT_VALUES, pa.nulls(table.num_rows, pa.list_(pa.float64())))
    fields = []
    for field in table.schema:
        item = field.type.value_type if pa.types.is_list(field.type) else field.type
        wide = pa.float64() if pa.types.is_floating(item) else pa.int64() if pa.types.is_integer(item) else item
        if field.name.startswith(INPUT_PREFIX):
            fields.append(pa.field(field.name, wide))
        elif field.name == OUTPUT_VALUES:
            fields.append(pa.field(field.name, pa.list_(wide)))
        else:
            fields.append(field)
    return table.cast(pa.schema(fields))


def _fields(table: pa.Table, typed: list[str], index: pd.Index) -> pd.DataFrame:
    """One column per input field: the typed columns, and the fields of the JSON cells (older files; fields that
    could not be typed), each row's value from where it was logged."""
    columns = pd.DataFrame({name[len(INPUT_PREFIX) :]: table[name].to_pandas() for name in typed}, index=index)
    cells = table["input"]
    if cells.null_count == len(cells):
        return columns
    has_cell = pc.is_valid(cells).to_numpy(zero_copy_only=False)
    parsed = _parsed_inputs(pd.Series(cells.filter(pc.is_valid(cells)).to_pylist(), index=index[has_cell]))
    if not typed:
        return parsed
    merged = columns.copy()
    for name in parsed.columns:
        if name not in merged:
            merged[name] = parsed[name]
            continue
        value = merged[name].where(merged[name].notna(), parsed[name])  # typed where logged typed
        integer = pa.types.is_integer(table.schema.field(INPUT_PREFIX + name).type)
        merged[name] = value.astype("int64") if integer and value.notna().all() else value
    return merged


def _parsed_inputs(cells: pd.Series) -> pd.DataFrame:
    """The JSON cells' fields, parsed by Arrow's JSON reader (about 10x faster than a json.loads per row on 1M
    rows); the row-by-row parse where Arrow cannot type a column."""
    import pyarrow.json as pj

    try:
        fields = pj.read_json(pa.BufferReader("\n".join(cells).encode())).to_pandas()
        fields.index = cells.index
        return fields
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return pd.DataFrame.from_records([json.loads(text) for text in cells], index=cells.index)


def _prediction(table: pa.Table, index: pd.Index) -> pd.Series:
    """The output per row: from `output.values`, or the JSON `output` cell (older files; outputs not typed)."""
    values, cells = table[OUTPUT_VALUES], table["output"]
    if cells.null_count == len(cells):
        return _from_values(values, index)
    if values.null_count == len(values):
        return _from_cells(cells, index)
    from_cells = pc.is_valid(cells).to_numpy(zero_copy_only=False)
    return _from_values(values, index).where(~from_cells, _from_cells(cells, index))


def _from_values(values: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A regression's `[y]` as y; class probabilities as lists; None where refused."""
    if len(values) and pc.max(pc.list_value_length(values)).as_py() in (1, None):
        first = pc.list_element(values, 0)
        prediction = pd.Series(first.to_numpy(zero_copy_only=False), index=index, dtype=object)
        return prediction.where(pd.notna(prediction), None)
    return pd.Series(values.to_pylist(), index=index, dtype=object)


def _from_cells(cells: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """The JSON output cells (a regression's `[y]` as y), parsed by Arrow's JSON reader where it can type them."""
    import pyarrow.json as pj

    texts = cells.to_pylist()
    try:
        wrapped = [f'{{"o":{text}}}' if isinstance(text, str) else '{"o":null}' for text in texts]
        outputs = pj.read_json(pa.BufferReader("\n".join(wrapped).encode()))["o"]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        served = [json.loads(text) if isinstance(text, str) else None for text in texts]
        return pd.Series([_scalar(value) for value in served], index=index, dtype=object)
    if pa.types.is_list(outputs.type):
        return _from_values(outputs, index)
    return pd.Series([_scalar(value) for value in outputs.to_pylist()], index=index, dtype=object)


def _scalar(value: object) -> object:
    """A regression's `[y]` as `y`; class probabilities stay a list."""
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], list):
        return value[0]
    return value


def read_ground_truth(location: Path | str | LogFolder, target: str) -> pd.DataFrame:
    """(request_id, instance, target) from every Parquet file in `location` (a folder or an s3:// prefix); empty
    when there is none.

    Raises a PipelineError naming the file and the missing column when a file lacks the key or the target.
    """
    folder = _folder(location)
    tables = []
    for name in folder.names("*.parquet"):
        path = folder.where(name)
        table = pq.read_table(pa.BufferReader(folder.read(name)))
        if target not in table.column_names and LABEL in table.column_names:
            table = table.rename_columns([target if c == LABEL else c for c in table.column_names])
        missing = [c for c in [*KEY, target] if c not in table.column_names]
        if missing:
            raise PipelineError(
                f"{path}: ground truth needs the columns {[*KEY, target]} (the log's request id and instance, and "
                f"the true '{target}', or '{LABEL}'); missing {missing}"
            )
        tables.append(table.select([*KEY, target]))
    if not tables:
        return pd.DataFrame(columns=[*KEY, target])
    frames = [_truth_frame(table) for table in tables]
    truth = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)  # one file: no copy
    twice = truth.duplicated(KEY, keep="last")
    return truth[~twice] if twice.any() else truth


def _truth_frame(table: pa.Table) -> pd.DataFrame:
    """One labels file as (request_id as str, instance as int64, target)."""
    frame = _to_pandas(table)
    if not pa.types.is_string(table.schema.field("request_id").type):
        frame["request_id"] = frame["request_id"].astype(str)
    frame["instance"] = frame["instance"].astype("int64")
    return frame


def join_ground_truth(log: pd.DataFrame, truth: pd.DataFrame, target: str) -> pd.DataFrame:
    """`log` (not changed) with the `target` column from `truth` (NaN where no truth arrived yet), `instance` as
    int64 and a fresh index: a left merge on (request_id, instance), done as hash lookups on an integer key so no
    frame is copied. Raises a PipelineError when `truth` holds a pair twice."""
    joined = log.drop(columns=[target]) if target in log else log.copy(deep=False)
    joined.index = pd.RangeIndex(len(joined))
    joined["instance"] = joined["instance"].to_numpy().astype("int64")
    if truth.empty:
        joined[target] = np.nan
        return joined
    truth_codes, ids = pd.factorize(truth["request_id"])
    log_codes = pd.Index(ids).get_indexer(joined["request_id"])
    width = int(max(joined["instance"].max(), truth["instance"].max())) + 1 if len(joined) else 1
    truth_keys = pd.Index(truth_codes.astype("int64") * width + truth["instance"].to_numpy().astype("int64"))
    if not truth_keys.is_unique:
        twice = truth[truth_keys.duplicated()].iloc[0]
        raise PipelineError(f"ground truth holds ({twice['request_id']!r}, {twice['instance']}) more than once")
    keys = np.where(log_codes >= 0, log_codes.astype("int64") * width + joined["instance"].to_numpy(), -1)
    found = truth_keys.get_indexer(keys)  # -1: no truth for the row (yet)
    joined[target] = truth[target].reset_index(drop=True).reindex(found).to_numpy()
    return joined

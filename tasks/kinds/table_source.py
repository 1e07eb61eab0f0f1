"""The table kind's collect: read the configured source, keep the rows before `collect.as_of`, write Parquet
plus a manifest.

Sources (`collect.source`): a local file, a glob, an http(s):// URL, or an `s3://bucket/prefix/` of date partitions.
An S3 prefix is collected incrementally: only partitions not yet listed in `data/raw/manifest.json` are fetched and
appended, so a re-run with nothing new fetches nothing, and the result equals collecting all partitions at once
(rows are kept in time order either way). A partition whose content changed after it was collected is an error:
set `collect.incremental: false` to collect everything again.

Outputs (data/raw/): `data.parquet` (the source rows with a derived timestamp column, in time order) and
`manifest.json` (source URIs with sha256/etag and rows, as_of, the data's sha256). When a run produces exactly the
data already there, data/raw is left untouched, so downstream DVC stages stay cached. Rows whose time cannot be
derived are kept (last), so that validation reports them instead of collection dropping them silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.problem import TabularProblem
from tasks.checks.duplicates import ORIGIN_FILE, ORIGIN_LINE
from tasks.core.artifacts import RAW_DIR
from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.data.read_options import ReadOptions
from tasks.data.sources import (
    MAX_LINE_BYTES,
    HttpSettings,
    SourceFile,
    detect_format,
    fetch,
    parse_table,
    parse_table_with_lines,
    resolve_source,
)
from tasks.kinds.table_times import DEFAULT_MAX_UNTIMED_SHARE, check_untimed_share, derive_times

OUT_DIR = RAW_DIR
GIVEN_TEST = "__test__"  # a column marking the rows of collect.test_source (the `given` split's test rows)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectSettings:
    source: str
    as_of: pd.Timestamp | None
    sha256: str | None = None
    test_source: str | None = None
    incremental: bool = True
    endpoint_url: str | None = None
    region: str | None = None
    http: HttpSettings = field(default_factory=HttpSettings)
    max_line_bytes: int = MAX_LINE_BYTES
    max_untimed_share: float = DEFAULT_MAX_UNTIMED_SHARE
    read: ReadOptions = field(default_factory=ReadOptions)  # collect.read: how the source's files are read
    test_read: ReadOptions = field(default_factory=ReadOptions)  # collect.read overridden by collect.test_read

    @classmethod
    def from_params(cls, params: Params) -> CollectSettings:
        return cls(
            source=params.get("collect.source", str),
            as_of=parse_as_of(params.raw("collect.as_of")) if params.raw("collect.as_of", None) is not None else None,
            test_source=params.get("collect.test_source", (str, type(None)), None),
            sha256=params.get("collect.sha256", (str, type(None)), None),
            incremental=params.get("collect.incremental", bool, True),
            endpoint_url=params.get("collect.s3.endpoint_url", (str, type(None)), None),
            region=params.get("collect.s3.region", (str, type(None)), None),
            http=HttpSettings.from_params(params),
            max_line_bytes=params.get("collect.max_line_bytes", int, MAX_LINE_BYTES, minimum=1024),
            max_untimed_share=params.get(
                "collect.max_untimed_share", float, DEFAULT_MAX_UNTIMED_SHARE, minimum=0.0, maximum=1.0
            ),
            read=(read := read_options(params)),
            test_read=read.overridden(params.raw("collect.test_read", None), "collect.test_read"),
        )


def read_options(params: Params) -> ReadOptions:
    """`collect.read` of the params: how the problem's source files are read (tasks/data/read_options.py)."""
    return ReadOptions.from_mapping(params.raw("collect.read", None), "collect.read")


def iso(as_of: pd.Timestamp | None) -> str | None:
    return None if as_of is None else as_of.isoformat()


def parse_as_of(value: Any) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise PipelineError(f"params.yaml: 'collect.as_of' must be a date or datetime, got {value!r}") from None


def safe_name(column: str) -> str:
    """A column name Keras and TensorFlow take as an input name: letters, digits and `_`, not starting with a digit
    (`mean radius` -> `mean_radius`)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", str(column).strip()).strip("_") or "column"
    return f"c_{name}" if name[0].isdigit() else name


def conform_columns(frame: pd.DataFrame, problem: TabularProblem, source: str = "source") -> pd.DataFrame:
    """`frame` with the problem's declared source columns, renamed to safe names; a PipelineError naming the
    difference when the header is not exactly the declared columns (a headerless file shows up here too)."""
    got = [str(c) for c in frame.columns]
    declared = list(problem.source_columns)
    missing = [c for c in declared if c not in got]
    unexpected = [c for c in got if c not in declared]
    if missing or unexpected:
        hint = ""
        if len(missing) == len(declared) and any(re.fullmatch(r"[-+0-9.eE]+", c) for c in unexpected):
            hint = " (the first row looks like data: does the file lack its header row?)"
        raise PipelineError(
            f"{source}: the header does not match the columns problem '{problem.name}' declares: "
            f"missing column(s) {missing}; unexpected column(s) {unexpected}{hint}"
        )
    renamed = {c: safe_name(c) for c in got}
    clashes = sorted({new for new in renamed.values() if list(renamed.values()).count(new) > 1})
    if clashes:
        names = [old for old, new in renamed.items() if new in clashes]
        raise PipelineError(f"{source}: columns {names} all map to the safe name(s) {clashes}; rename them")
    return frame.rename(columns=renamed) if any(old != new for old, new in renamed.items()) else frame


def select_before(
    frame: pd.DataFrame, problem: TabularProblem, as_of: pd.Timestamp | None, source: str = "source"
) -> pd.DataFrame:
    """Add the problem's timestamp column and keep rows before `as_of` (and rows whose time is unknown).
    A problem without time keeps every row."""
    if problem.timestamp is None or problem.derive_timestamp is None:
        return frame.reset_index(drop=True)
    frame = frame.copy()
    frame[problem.timestamp] = derive_times(frame, problem, source)  # a value that breaks it is named, with its row
    if as_of is None:
        return frame.reset_index(drop=True)
    keep = frame[problem.timestamp].isna() | (frame[problem.timestamp] < as_of)
    return frame.loc[keep].reset_index(drop=True)


def in_time_order(frame: pd.DataFrame, problem: TabularProblem) -> pd.DataFrame:
    """Rows sorted by time (stable: equal times keep source order; unknown times last); source order without time."""
    if problem.timestamp is None:
        return frame.reset_index(drop=True)
    return frame.sort_values(problem.timestamp, kind="mergesort", na_position="last").reset_index(drop=True)


def source_entry(f: SourceFile, rows: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"uri": f.uri, "sha256": f.sha256, "bytes": len(f.payload)}
    if rows is not None:
        entry["rows"] = rows
    if f.etag is not None:
        entry["etag"] = f.etag
    return entry


def build_manifest(
    source: str, entries: list[dict[str, Any]], as_of: pd.Timestamp | None, rows_in: int, rows_out: int
) -> dict[str, Any]:
    return {
        "source": source,
        "sources": entries,
        "as_of": iso(as_of),
        "rows_read": rows_in,
        "rows_collected": rows_out,
        "rows_held_back": rows_in - rows_out,  # at or after as_of: left for later runs (monitor reads them)
    }


def read_manifest(out_dir: Path = OUT_DIR) -> dict[str, Any] | None:
    try:
        return json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def parse_files(files: list[SourceFile], settings: CollectSettings) -> list[pd.DataFrame]:
    return [parse_table(f, settings.max_line_bytes, settings.read) for f in files]


def collect_s3(
    settings: CollectSettings, problem: TabularProblem, previous: pd.DataFrame | None, manifest: dict[str, Any] | None
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """Fetch the partitions not yet collected and append them; None when there is nothing new."""
    from tasks.data.s3_source import S3Location, S3Settings, fetch_object, list_partitions, make_client

    location = S3Location.parse(settings.source)
    client = make_client(S3Settings(settings.endpoint_url, settings.region))
    objects = list_partitions(client, location)
    if not objects:
        raise PipelineError(f"collect.source: no data files under {location.uri}")
    reuse = (
        settings.incremental
        and previous is not None
        and manifest is not None
        and manifest.get("source") == settings.source
        and manifest.get("as_of") == iso(settings.as_of)
    )
    known = {e["uri"]: e for e in manifest["sources"]} if reuse and manifest else {}
    changed = [o.uri for o in objects if o.uri in known and known[o.uri].get("etag") != o.etag]
    if changed:
        raise PipelineError(
            f"collect.source: partition(s) changed since they were collected: {changed[:5]}; "
            "set collect.incremental: false (or `dvc exp run -S collect.incremental=false`) to collect all again"
        )
    gone = sorted(set(known) - {o.uri for o in objects})
    if gone:
        log.warning("partitions collected before are no longer in %s (kept): %s", location.uri, gone[:5])
    new = [o for o in objects if o.uri not in known]
    if not new:
        log.info("no new partitions under %s (%d already collected)", location.uri, len(known))
        return None
    files = [fetch_object(client, o) for o in new]
    frames = [conform_columns(f, problem, s.uri) for f, s in zip(parse_files(files, settings), files, strict=True)]
    for frame, source_file in zip(frames, files, strict=True):
        check_untimed_share(frame, problem, source_file.uri, settings.max_untimed_share)
    selected = [select_before(f, problem, settings.as_of, s.uri) for f, s in zip(frames, files, strict=True)]
    base = [previous] if reuse and previous is not None else []
    combined = in_time_order(pd.concat([*base, *selected], ignore_index=True), problem)
    entries = (list(known.values()) if reuse else []) + [
        source_entry(f, len(frame)) for f, frame in zip(files, frames, strict=True)
    ]
    rows_in = (manifest.get("rows_read", 0) if reuse and manifest else 0) + sum(len(f) for f in frames)
    log.info("fetched %d new partition(s) of %s: %s", len(new), location.uri, [o.key for o in new][:10])
    return combined, build_manifest(settings.source, entries, settings.as_of, rows_in, len(combined))


def collect_files(settings: CollectSettings, problem: TabularProblem) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a file, glob or URL in full (and the test source, for a given test split); each row keeps its file
    (an index into the manifest's sources) and line in ORIGIN_COLUMNS, for validate to name duplicates by."""
    files = [fetch(uri, settings.http) for uri in resolve_source(settings.source)]
    parts = [read_part(f, settings.read, settings, problem) for f in files]
    if settings.test_source:
        test_files = [fetch(uri, settings.http) for uri in resolve_source(settings.test_source)]
        tests = [read_part(f, settings.test_read, settings, problem) for f in test_files]
        parts = [p.assign(**{GIVEN_TEST: False}) for p in parts] + [t.assign(**{GIVEN_TEST: True}) for t in tests]
        files += test_files
    parts = [part.assign(**{ORIGIN_FILE: index}) for index, part in enumerate(parts)]
    for part, source_file in zip(parts, files, strict=True):
        check_untimed_share(part, problem, source_file.uri, settings.max_untimed_share)
    frame = pd.concat(parts, ignore_index=True)
    if settings.sha256 and [f.sha256 for f in files] != [settings.sha256]:
        got = ", ".join(f.sha256 for f in files)
        raise PipelineError(f"collect.sha256: {settings.source} has sha256 {got}, expected {settings.sha256}")
    selected = in_time_order(select_before(frame, problem, settings.as_of, settings.source), problem)
    entries = [source_entry(f) for f in files]
    return selected, build_manifest(settings.source, entries, settings.as_of, len(frame), len(selected))


def read_part(f: SourceFile, options: ReadOptions, settings: CollectSettings, problem: TabularProblem) -> pd.DataFrame:
    """One file's rows, conformed to the problem's columns, with each row's line in the file (ORIGIN_LINE)."""
    parsed, lines = parse_table_with_lines(f, settings.max_line_bytes, options)
    frame = conform_columns(parsed, problem, f.uri)
    if lines is None:  # no comment or blank lines: a row's line follows from its position
        csv = detect_format(f.uri)[0] == "csv"
        first = 1 + (options.skip_rows + (options.header + 1 if options.header is not None else 0) if csv else 0)
        return frame.assign(**{ORIGIN_LINE: range(first, first + len(frame))})
    return frame.assign(**{ORIGIN_LINE: lines})


def collect(settings: CollectSettings, problem: TabularProblem, out_dir: Path = OUT_DIR) -> bool:
    """Collect into `out_dir`; return False when the data there is already exactly what this run would write."""
    manifest = read_manifest(out_dir)
    previous = None
    if settings.source.startswith("s3://"):
        if manifest and (out_dir / "data.parquet").exists():
            previous = pd.read_parquet(out_dir / "data.parquet")
        outcome = collect_s3(settings, problem, previous, manifest)
        if outcome is None:
            return False
        frame, new_manifest = outcome
    else:
        frame, new_manifest = collect_files(settings, problem)
    if frame.empty:
        raise PipelineError(f"collect.as_of={iso(settings.as_of)}: no rows of {settings.source} fall before it")
    try:
        with atomic_dir(out_dir) as tmp:
            frame.to_parquet(tmp / "data.parquet", index=False, row_group_size=100_000)
            digest = hashlib.sha256((tmp / "data.parquet").read_bytes()).hexdigest()
            new_manifest["data_sha256"] = digest
            if (
                manifest
                and manifest.get("data_sha256") == digest
                and manifest.get("sources") == new_manifest["sources"]
            ):
                raise _Unchanged
            (tmp / "manifest.json").write_text(json.dumps(new_manifest, indent=2) + "\n")
    except _Unchanged:
        log.info("%s: nothing new; %s left as it was", settings.source, out_dir)
        return False
    untimed = int(frame[problem.timestamp].isna().sum()) if problem.timestamp in frame else 0
    new_manifest_note = f"; {untimed} without a time, kept for validation to report" if untimed else ""
    log.info(
        "collected %d of %d rows%s from %s (%d held back, at or after as_of%s)",
        new_manifest["rows_collected"],
        new_manifest["rows_read"],
        f" before {settings.as_of}" if settings.as_of is not None else "",
        settings.source,
        new_manifest["rows_read"] - new_manifest["rows_collected"],
        new_manifest_note,
    )
    return True


class _Unchanged(Exception):
    """Raised inside atomic_dir to discard a result identical to the data already collected."""

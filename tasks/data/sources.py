"""Reading source data: a local file, a glob of files, or an HTTP(S) URL, in CSV, Parquet or JSON lines, each
optionally gzip- or bz2-compressed (S3 prefixes: `tasks/data/s3_source.py`).

Each source is read as bytes first, so its sha256 is the checksum of exactly what was parsed. Malformed input
(empty, truncated, undecodable, wrongly delimited, absurdly long lines) raises a PipelineError naming the file.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import logging
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError
from tasks.data.read_options import ReadOptions
from tasks.data.source_file import FORMATS, SourceFile

MAX_LINE_BYTES = 1 << 20  # a text line longer than 1 MiB is a broken file, not a record
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpSettings:
    timeout_s: float = 30.0
    retries: int = 3  # further attempts after the first, for timeouts, connection errors and 5xx/429 answers
    backoff_s: float = 1.0  # wait backoff_s, 2*backoff_s, 4*backoff_s ... between attempts

    @classmethod
    def from_params(cls, params: Any) -> HttpSettings:
        """`collect.http.*` of the params (tasks.core.params.Params), every kind's sources alike."""
        return cls(
            timeout_s=params.get("collect.http.timeout_s", float, 30.0, minimum=0.1),
            retries=params.get("collect.http.retries", int, 3, minimum=0),
            backoff_s=params.get("collect.http.backoff_s", float, 1.0, minimum=0.0),
        )


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def resolve_source(source: str) -> list[str]:
    """Expand `source` into the URIs it names: itself for a URL or file, the sorted matches for a glob."""
    if is_url(source):
        return [source]
    if any(ch in source for ch in "*?["):
        matches = sorted(glob.glob(source))
        if not matches:
            raise PipelineError(f"collect.source: the pattern {source!r} matches no file")
        return matches
    if not Path(source).is_file():
        raise PipelineError(f"collect.source: no file at {source!r}")
    return [source]


def download(uri: str, http: HttpSettings, sleep: Callable[[float], None] = time.sleep) -> bytes:
    """GET `uri` with a timeout, retrying transient failures with exponential backoff."""
    last: Exception | None = None
    for attempt in range(http.retries + 1):
        if attempt:
            delay = http.backoff_s * 2 ** (attempt - 1)
            log.warning("retrying %s in %.1f s (attempt %d of %d): %s", uri, delay, attempt + 1, http.retries + 1, last)
            sleep(delay)
        try:
            with urllib.request.urlopen(uri, timeout=http.timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as err:
            if err.code < 500 and err.code != 429:  # the server answered: retrying will not help
                raise PipelineError(f"collect.source: could not download {uri}: HTTP {err.code} {err.reason}") from None
            last = err
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            last = err
    raise PipelineError(f"collect.source: could not download {uri} after {http.retries + 1} attempt(s): {last}")


def fetch(uri: str, http: HttpSettings | None = None) -> SourceFile:
    """Read the bytes behind `uri` (a local path or an HTTP(S) URL)."""
    if is_url(uri):
        return SourceFile(uri, download(uri, http or HttpSettings()))
    try:
        return SourceFile(uri, Path(uri).read_bytes())
    except OSError as err:
        raise PipelineError(f"collect.source: could not read {uri}: {err}") from None


def detect_format(uri: str) -> tuple[str, str | None]:
    """(format, compression) from the name: `x.csv.gz` -> ('csv', 'gzip')."""
    name = uri.split("?", 1)[0].lower()
    compression = "gzip" if name.endswith(".gz") else "bz2" if name.endswith(".bz2") else None
    stem = name.removesuffix(".gz").removesuffix(".bz2")
    for suffix, fmt in FORMATS.items():
        if stem.endswith(suffix):
            return fmt, compression
    raise PipelineError(
        f"{uri}: unknown format; expected .csv, .parquet or .jsonl (also .ndjson/.json), optionally .gz or .bz2"
    )


def decompress(uri: str, payload: bytes, compression: str | None) -> bytes:
    try:
        if compression == "gzip":
            return gzip.decompress(payload)
        if compression == "bz2":
            return bz2.decompress(payload)
    except (EOFError, OSError, zlib.error, ValueError) as err:
        raise PipelineError(
            f"{uri}: could not be parsed: not valid {compression} data (truncated or corrupt?): {err}"
        ) from None
    return payload


def longest_line(text: bytes) -> tuple[int, int]:
    """(length in bytes, 1-based line number) of the longest line, without splitting the payload into lines."""
    newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord("\n"))
    bounds = np.concatenate([[-1], newlines, [len(text)]])
    lengths = np.diff(bounds) - 1
    index = int(lengths.argmax())
    return int(lengths[index]), index + 1


def _check_text(uri: str, text: bytes, max_line_bytes: int) -> None:
    if not text.strip():
        raise PipelineError(f"{uri}: the file is empty")
    length, line = longest_line(text)
    if length > max_line_bytes:
        raise PipelineError(
            f"{uri}: line {line} is {length:,} bytes long (limit {max_line_bytes:,}); the file is malformed "
            "(a missing line break or an unterminated quote?)"
        )
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as err:
        line = text[: err.start].count(b"\n") + 1
        raise PipelineError(
            f"{uri}: not valid UTF-8 at byte {err.start} (line {line}: {text[err.start : err.start + 4]!r}); "
            "re-encode the file as UTF-8"
        ) from None


def _check_csv_shape(uri: str, frame: pd.DataFrame, header: str) -> None:
    if len(frame.columns) == 1:
        for delimiter in (";", "\t", "|"):
            if header.count(delimiter) >= 2:
                raise PipelineError(
                    f"{uri}: the header has one column {header[:80]!r}; the file looks {delimiter!r}-delimited, "
                    "expected ','"
                )
    if frame.empty:
        raise PipelineError(f"{uri}: has a header ({len(frame.columns)} columns) but no data rows")


def recode(uri: str, data: bytes, options: ReadOptions) -> bytes:
    """`data` as UTF-8: decoded with the configured `encoding` first (a byte it cannot decode is named)."""
    if options.encoding in ("utf-8", "utf_8"):
        return data
    try:
        return data.decode(options.encoding).encode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise PipelineError(
            f"{uri}: not valid {options.encoding} ({options.key}.encoding) at byte {err.start} (line {line})"
        ) from None


def parse_table(
    source: SourceFile, max_line_bytes: int = MAX_LINE_BYTES, options: ReadOptions | None = None
) -> pd.DataFrame:
    """Parse a CSV, Parquet or JSON-lines payload; the format and compression come from the name, how it is read
    from `options` (collect.read: names, header, separator, NA markers, value map ...)."""
    return parse_table_with_lines(source, max_line_bytes, options)[0]


def parse_table_with_lines(
    source: SourceFile, max_line_bytes: int = MAX_LINE_BYTES, options: ReadOptions | None = None
) -> tuple[pd.DataFrame, list[int] | None]:
    """parse_table, and for a CSV file with comment or blank lines each row's 1-based line in the file
    (ReadOptions.row_lines, from the bytes parsed); None where a row's line follows from its position."""
    options = options or ReadOptions()
    fmt, compression = detect_format(source.uri)
    uri = source.uri
    options.check_format(uri, fmt)
    if not source.payload:
        raise PipelineError(f"{uri}: the file is empty (0 bytes)")
    data = decompress(uri, source.payload, compression)
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
            if frame.empty:
                raise PipelineError(f"{uri}: the Parquet file has {len(frame.columns)} columns but no rows")
            return options.apply_values(frame, uri), None
        data = recode(uri, data, options)
        _check_text(uri, data, max_line_bytes)
        if fmt == "csv":
            frame = pd.read_csv(io.BytesIO(data), encoding="utf-8", **options.csv_kwargs())
            if options.sep == ",":
                _check_csv_shape(uri, frame, data.split(b"\n", 1)[0].decode("utf-8", "replace"))
            elif frame.empty:
                raise PipelineError(f"{uri}: has {len(frame.columns)} columns but no data rows")
            _check_names(uri, frame, options)
            shifted = options.comment or b"\n\n" in data or b"\n\r\n" in data  # lines that are no rows
            return options.apply_values(frame, uri), options.row_lines(data, len(frame)) if shifted else None
        frame = pd.read_json(io.BytesIO(data), lines=True, encoding="utf-8")
        if frame.empty:
            raise PipelineError(f"{uri}: no JSON records")
        return options.apply_values(frame, uri), None
    except PipelineError:
        raise
    except Exception as err:  # pandas and pyarrow raise many kinds for malformed input
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise PipelineError(f"{uri}: could not be parsed as {fmt}: {message}") from None


def _check_names(uri: str, frame: pd.DataFrame, options: ReadOptions) -> None:
    """With `names` given, a row with more fields than names would shift into the index: refuse it."""
    if options.names is not None and not isinstance(frame.index, pd.RangeIndex):
        raise PipelineError(f"{uri}: rows have more fields than the {len(options.names)} names in {options.key}.names")


def read_sources(
    source: str, http: HttpSettings | None = None, options: ReadOptions | None = None
) -> tuple[pd.DataFrame, list[SourceFile]]:
    """Read every file `source` names and concatenate them in name order.

    An `s3://bucket/prefix/` is read in full (every partition; endpoint and credentials from the environment):
    the collect stage reads S3 incrementally itself, this serves readers such as monitor and infer_schema.
    """
    if source.startswith("s3://"):
        from tasks.data.s3_source import S3Location, S3Settings, fetch_object, list_partitions, make_client

        client = make_client(S3Settings())
        objects = list_partitions(client, S3Location.parse(source))
        if not objects:
            raise PipelineError(f"collect.source: no data files under {source}")
        files = [fetch_object(client, o) for o in objects]
    else:
        files = [fetch(uri, http) for uri in resolve_source(source)]
    frames = [parse_table(f, options=options) for f in files]
    return pd.concat(frames, ignore_index=True), files

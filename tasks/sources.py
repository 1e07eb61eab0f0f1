"""Reading source data: a local file, a glob of files, or an HTTP(S) URL, in CSV or Parquet (optionally gzip/bz2).

Each source is read as bytes first, so its sha256 is the checksum of exactly what was parsed.
"""

from __future__ import annotations

import glob
import hashlib
import io
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tasks.errors import PipelineError

HTTP_TIMEOUT_S = 30


@dataclass(frozen=True)
class SourceFile:
    uri: str
    payload: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


def resolve_source(source: str) -> list[str]:
    """Expand `source` into the URIs it names: itself for a URL or file, the sorted matches for a glob."""
    if source.startswith(("http://", "https://")):
        return [source]
    if any(ch in source for ch in "*?["):
        matches = sorted(glob.glob(source))
        if not matches:
            raise PipelineError(f"collect.source: the pattern {source!r} matches no file")
        return matches
    if not Path(source).is_file():
        raise PipelineError(f"collect.source: no file at {source!r}")
    return [source]


def fetch(uri: str) -> SourceFile:
    """Read the bytes behind `uri` (a local path or an HTTP(S) URL)."""
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT_S) as response:
                return SourceFile(uri, response.read())
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise PipelineError(f"collect.source: could not download {uri}: {err}") from None
    try:
        return SourceFile(uri, Path(uri).read_bytes())
    except OSError as err:
        raise PipelineError(f"collect.source: could not read {uri}: {err}") from None


def parse_table(source: SourceFile) -> pd.DataFrame:
    """Parse a CSV or Parquet payload; compression is taken from the name (.gz, .bz2)."""
    name = source.uri.split("?", 1)[0].lower()
    compression = "gzip" if name.endswith(".gz") else "bz2" if name.endswith(".bz2") else None
    stem = name.removesuffix(".gz").removesuffix(".bz2")
    try:
        if stem.endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(source.payload))
        if stem.endswith(".csv"):
            return pd.read_csv(io.BytesIO(source.payload), compression=compression)
    except Exception as err:  # pandas raises many kinds for malformed input
        raise PipelineError(f"{source.uri}: could not be parsed as {stem.rsplit('.', 1)[-1]}: {err}") from None
    raise PipelineError(f"{source.uri}: unknown format; expected .csv or .parquet, optionally .gz or .bz2")


def read_sources(source: str) -> tuple[pd.DataFrame, list[SourceFile]]:
    """Read every file `source` names and concatenate them in name order."""
    files = [fetch(uri) for uri in resolve_source(source)]
    frames = [parse_table(f) for f in files]
    return pd.concat(frames, ignore_index=True), files

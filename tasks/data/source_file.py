"""A source file as read: its URI, its bytes (and so its sha256) and, from S3, its ETag; the formats sources take.

Shared by tasks/data/sources.py (files and URLs) and tasks/data/s3_source.py (S3 prefixes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "json lines", ".ndjson": "json lines", ".json": "json lines"}
COMPRESSIONS = (".gz", ".bz2")
DATA_SUFFIXES = tuple(f + c for f in FORMATS for c in ("", *COMPRESSIONS))


@dataclass(frozen=True)
class SourceFile:
    uri: str
    payload: bytes
    etag: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

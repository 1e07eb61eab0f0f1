"""Where monitoring reads the prediction log and the labels from: a local folder or an `s3://bucket/prefix` (the
server writes either, tasks/serving/prediction_log.py). Both give the same file names relative to the log's root
(`date=YYYY-MM-DD/hour=HH/part-*.parquet`, the older `date=YYYY-MM-DD/part-*.parquet`, `ground_truth/*.parquet`) and
their bytes, so the readers do not care which. `log_file_names` keeps only the partitions that can hold rows of a
time range (partition pruning by name: files outside are never read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.core.errors import PipelineError


@dataclass(frozen=True)
class LogFolder:
    """A local folder or an S3 prefix, with the boto3 client that reads it (S3 only)."""

    root: str  # a path, or s3://bucket/prefix
    client: Any = None

    @property
    def on_s3(self) -> bool:
        return self.root.startswith("s3://")

    def child(self, name: str) -> LogFolder:
        return LogFolder(f"{self.root.rstrip('/')}/{name}", self.client)

    def where(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def names(self, *patterns: str) -> list[str]:
        """The complete files matching any of `patterns` (`date=*/hour=*/*.parquet`, `*.parquet`), relative,
        sorted; files whose name starts with '.' (half-written) left out. One listing on S3."""
        if not self.on_s3:
            folder = Path(self.root)
            if not folder.is_dir():
                return []
            found = {p.relative_to(folder).as_posix() for pattern in patterns for p in folder.glob(pattern)}
            return sorted(n for n in found if not n.rsplit("/", 1)[-1].startswith("."))
        from fnmatch import fnmatchcase

        from botocore.exceptions import BotoCoreError, ClientError

        from tasks.data.s3_source import explain

        bucket, _, prefix = self.root.removeprefix("s3://").partition("/")
        prefix = f"{prefix.rstrip('/')}/" if prefix else ""
        names = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :]
                    base = name.rsplit("/", 1)[-1]
                    depth = name.count("/")
                    matched = any(p.count("/") == depth and fnmatchcase(name, p) for p in patterns)
                    if matched and not base.startswith("."):
                        names.append(name)
        except (BotoCoreError, ClientError) as err:
            raise explain(err, f"the prediction log {self.root}") from None
        return sorted(names)

    def read(self, name: str) -> bytes:
        if not self.on_s3:
            return (Path(self.root) / name).read_bytes()
        from botocore.exceptions import BotoCoreError, ClientError

        from tasks.data.s3_source import explain

        bucket, _, prefix = self.root.removeprefix("s3://").partition("/")
        key = f"{prefix.rstrip('/')}/{name}" if prefix else name
        try:
            return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (BotoCoreError, ClientError) as err:
            raise explain(err, self.where(name)) from None


LAYOUTS = ("date=*/hour=*/*.parquet", "date=*/*.parquet")  # by hour; by date (logs written before the hours)
_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})/(?:hour=(\d{2})/)?[^/]+$")
# A date-only file was named after the day it was written: its rows may be up to a flush older (the day before).
_DATE_ONLY_EARLIER = timedelta(days=1)


def partition_span(name: str) -> tuple[datetime, datetime] | None:
    """[start, end) (UTC) of the times the rows of the log file `name` can have; None when the name says nothing."""
    from datetime import UTC

    match = _PARTITION.match(name)
    if match is None:
        return None
    try:
        day = datetime.strptime(match.group(1), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    if match.group(2) is None:
        return day - _DATE_ONLY_EARLIER, day + timedelta(days=1)
    start = day + timedelta(hours=int(match.group(2)))
    return start, start + timedelta(hours=1)


def log_file_names(folder: LogFolder, since: datetime | None = None, until: datetime | None = None) -> list[str]:
    """The log's files in both layouts, sorted, less those whose partition holds no time in [since, until)."""
    names = folder.names(*LAYOUTS)
    if since is None and until is None:
        return names
    kept = []
    for name in names:
        span = partition_span(name)
        if span is not None and ((since is not None and span[1] <= since) or (until is not None and span[0] >= until)):
            continue
        kept.append(name)
    return kept


def log_folder(location: str | Path, client: Any = None) -> LogFolder:
    """A LogFolder for a path or an s3:// URI (an S3 client from the environment when none is given)."""
    text = str(location)
    if text.startswith("s3://"):
        if client is None:
            from tasks.data.s3_source import S3Settings, make_client

            client = make_client(S3Settings())
        return LogFolder(text, client)
    if "://" in text:
        raise PipelineError(f"{text}: a prediction log is a local folder or an s3://bucket/prefix")
    return LogFolder(text)

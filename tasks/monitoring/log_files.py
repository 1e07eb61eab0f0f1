"""Where monitoring reads the prediction log and the labels from: a local folder or an `s3://bucket/prefix` (the
server writes either, tasks/serving/prediction_log.py). Both give the same file names relative to the log's root
(`date=YYYY-MM-DD/part-*.parquet`, `ground_truth/*.parquet`) and their bytes, so the readers do not care which.
"""

from __future__ import annotations

from dataclasses import dataclass
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

    def names(self, pattern: str) -> list[str]:
        """The complete files matching `pattern` (`date=*/*.parquet`, `*.parquet`), relative, sorted; files whose
        name starts with '.' (half-written) left out."""
        if not self.on_s3:
            folder = Path(self.root)
            if not folder.is_dir():
                return []
            found = [p.relative_to(folder).as_posix() for p in folder.glob(pattern)]
            return sorted(n for n in found if not n.rsplit("/", 1)[-1].startswith("."))
        from fnmatch import fnmatchcase

        from botocore.exceptions import BotoCoreError, ClientError

        from tasks.data.s3_source import explain

        bucket, _, prefix = self.root.removeprefix("s3://").partition("/")
        prefix = f"{prefix.rstrip('/')}/" if prefix else ""
        depth = pattern.count("/")
        names = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :]
                    base = name.rsplit("/", 1)[-1]
                    if name.count("/") == depth and fnmatchcase(name, pattern) and not base.startswith("."):
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

"""collect: read the problem's source into data/raw (data.parquet + manifest.json).

The stage is the same for every kind of data; the kind (tasks/kinds/) knows how its source is read: a table from a
file, a glob, an http(s) URL or an S3 prefix of date partitions, collected incrementally (tasks/kinds/table_source.py);
images from IDX files in a folder, URL prefix or S3 prefix (tasks/kinds/image_source.py). Both read through the same
retries and checksums (tasks/data/sources.py), and a failed collection leaves the last good data/raw in place.
"""

from __future__ import annotations

from tasks.core.errors import run_stage
from tasks.kinds.selection import select


def main() -> None:
    run = select()
    run.kind.collect(run.problem, run.params)


if __name__ == "__main__":
    run_stage("collect", main)

"""Generated tables for the Dask tests and the scale benchmark: the bundled bike rows repeated, each copy moved a
whole number of weeks later (so timestamps stay unique, hourly and in order), as one frame or as date partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.bike_demand import PROBLEM
from tasks.kinds.table_source import select_before
from tests.conftest import SOURCE


def bike_rows() -> pd.DataFrame:
    return select_before(pd.read_csv(SOURCE), PROBLEM, None)


def bike_like(rows: int, base: pd.DataFrame | None = None) -> pd.DataFrame:
    """`rows` rows: copies of the bundled year, copy k shifted by k * 53 weeks, numeric noise none (same values)."""
    base = bike_rows() if base is None else base
    copies = -(-rows // len(base))
    shift = pd.Timedelta(weeks=53)
    frames = [base.assign(timestamp=base["timestamp"] + k * shift) for k in range(copies)]
    return pd.concat(frames, ignore_index=True).iloc[:rows].reset_index(drop=True)


def write_partitions(rows: int, folder: Path, rows_per_file: int = 1_000_000) -> int:
    """A bike-like table of `rows` rows (the bundled rows over and over, one a minute) as Parquet files
    `part-NNNNN.parquet` in time order (one per date range of `rows_per_file` rows: the partitions a feed writes),
    written file by file so memory stays bounded."""
    base = bike_rows()
    folder.mkdir(parents=True, exist_ok=True)
    written, number = 0, 0
    while written < rows:
        take = min(rows_per_file, rows - written)
        index = np.arange(written, written + take)
        part = base.iloc[index % len(base)].reset_index(drop=True)
        # one row a minute from the bundled year's start: 100M rows end in the 2200s, within pandas' range
        part["timestamp"] = base["timestamp"].iloc[0] + pd.to_timedelta(index, unit="min")
        part.to_parquet(folder / f"part-{number:05d}.parquet", index=False, row_group_size=250_000)
        written += take
        number += 1
    return number

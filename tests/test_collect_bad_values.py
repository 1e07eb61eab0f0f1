"""A source whose columns parse but whose values cannot form the problem's time stops collect naming the file, the
column and an example row; rows without a time are counted, and too many of them stop collect; rows held back by
as_of are counted in the manifest. Nothing is written to data/raw by a refused collection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.errors import PipelineError
from tasks.kinds.table_source import CollectSettings, collect
from tasks.kinds.table_times import input_columns

AS_OF = pd.Timestamp("2011-02-01")


def settings(source: Path, **extra: object) -> CollectSettings:
    return CollectSettings(source=str(source), as_of=AS_OF, **extra)  # type: ignore[arg-type]


def test_a_day_too_large_for_a_timedelta_names_file_column_and_row(tmp_path: Path, bike_source: pd.DataFrame) -> None:
    frame = bike_source.head(200).copy()
    frame.loc[137, "day"] = 10**12  # pandas raised OutOfBoundsTimedelta with neither file nor column
    source = tmp_path / "batch.csv"
    frame.to_csv(source, index=False)
    with pytest.raises(PipelineError) as refused:
        collect(settings(source), PROBLEM, tmp_path / "raw")
    message = str(refused.value)
    assert message.startswith(f"{source}: the values of column(s) ['day'] cannot form 'timestamp'")
    assert "OutOfBoundsTimedelta" in message or "Overflow" in message
    assert "first at data row 138:" in message and "'day': 1000000000000" in message
    assert not (tmp_path / "raw").exists()


def test_a_foreign_table_with_the_same_header_is_refused_naming_the_time_columns(
    tmp_path: Path, bike_source: pd.DataFrame
) -> None:
    rng = np.random.default_rng(0)
    foreign = pd.DataFrame({c: rng.choice(["a", "b", "zz"], size=300) for c in bike_source.columns})
    source = tmp_path / "other.csv"
    foreign.to_csv(source, index=False)
    with pytest.raises(PipelineError) as refused:
        collect(settings(source), PROBLEM, tmp_path / "raw")
    message = str(refused.value)
    assert message.startswith(f"{source}: 300 of 300 rows (100.0%) have values of column(s) ['day', 'hr']")
    assert "collect.max_untimed_share=0.01" in message and "first at data row 1:" in message


def test_a_few_rows_without_a_time_are_kept_and_counted_more_stop_collect(
    tmp_path: Path, bike_source: pd.DataFrame
) -> None:
    frame = bike_source.head(400).astype({"hr": object})
    frame.loc[[10, 20], "hr"] = "noon"
    source = tmp_path / "batch.csv"
    frame.to_csv(source, index=False)
    assert collect(settings(source), PROBLEM, tmp_path / "raw")  # 0.5% of the rows: kept for validation
    raw = pd.read_parquet(tmp_path / "raw/data.parquet")
    assert raw["timestamp"].isna().sum() == 2 and len(raw) == 400

    frame.loc[range(30, 60), "hr"] = "noon"
    frame.to_csv(source, index=False)
    with pytest.raises(PipelineError, match=r"32 of 400 rows \(8.0%\) have values of column\(s\) \['hr'\]"):
        collect(settings(source, max_untimed_share=0.05), PROBLEM, tmp_path / "raw")
    assert len(pd.read_parquet(tmp_path / "raw/data.parquet")) == 400  # the last good collection stays


def test_rows_held_back_by_as_of_are_counted(tmp_path: Path, bike_source: pd.DataFrame) -> None:
    import json

    frame = bike_source.head(1000).copy()
    frame.loc[5, "day"] = 400  # a bad day past as_of: counted with the rest held back, never silently gone
    source = tmp_path / "batch.csv"
    frame.to_csv(source, index=False)
    collect(settings(source), PROBLEM, tmp_path / "raw")
    manifest = json.loads((tmp_path / "raw/manifest.json").read_text())
    kept = int((frame["day"] <= 31).sum())
    assert manifest["rows_collected"] == kept
    assert manifest["rows_held_back"] == 1000 - kept == manifest["rows_read"] - manifest["rows_collected"]


def test_the_columns_a_time_is_made_of_are_found_without_being_declared(bike_source: pd.DataFrame) -> None:
    assert input_columns(bike_source.head(3), PROBLEM) == ["day", "hr"]

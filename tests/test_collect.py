import gzip
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.errors import PipelineError
from tasks.data.sources import read_sources
from tasks.kinds.table_source import select_before

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "data/sources/bikeshare-2011.csv.gz"


def test_derives_the_timestamp_from_day_and_hour(bike_source: pd.DataFrame) -> None:
    stamps = PROBLEM.derive_timestamp(bike_source)
    assert stamps.iloc[0] == pd.Timestamp("2011-01-01 00:00")
    row = bike_source.index[(bike_source.day == 32) & (bike_source.hr == 5)][0]
    assert stamps[row] == pd.Timestamp("2011-02-01 05:00")
    assert stamps.is_unique


def test_keeps_only_rows_before_as_of(bike_source: pd.DataFrame) -> None:
    selected = select_before(bike_source, PROBLEM, pd.Timestamp("2011-02-01"))
    assert selected.timestamp.max() < pd.Timestamp("2011-02-01")
    assert len(selected) == (bike_source.day <= 31).sum()


def test_rows_without_a_time_are_kept_for_validation_to_report(bike_source: pd.DataFrame) -> None:
    frame = bike_source.head(5).astype({"day": object})
    frame.loc[2, "day"] = "tuesday"
    selected = select_before(frame, PROBLEM, pd.Timestamp("2011-02-01"))
    assert len(selected) == 5 and selected.timestamp.isna().sum() == 1


def test_missing_time_column_is_named(bike_source: pd.DataFrame) -> None:
    with pytest.raises(PipelineError, match="missing column 'hr'"):
        select_before(bike_source.drop(columns=["hr"]), PROBLEM, pd.Timestamp("2011-02-01"), "s.csv")


def test_glob_reads_every_matching_file_in_name_order(tmp_path: Path, bike_source: pd.DataFrame) -> None:
    bike_source.iloc[:10].to_csv(tmp_path / "part-0.csv", index=False)
    bike_source.iloc[10:25].to_parquet(tmp_path / "part-1.parquet", index=False)
    frame, files = read_sources(str(tmp_path / "part-*"))
    assert [Path(f.uri).name for f in files] == ["part-0.csv", "part-1.parquet"]
    pd.testing.assert_frame_equal(frame, bike_source.iloc[:25].reset_index(drop=True))


def test_missing_file_and_empty_glob_are_named(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="no file at"):
        read_sources(str(tmp_path / "absent.csv"))
    with pytest.raises(PipelineError, match="matches no file"):
        read_sources(str(tmp_path / "*.csv"))


def test_truncated_gzip_is_reported_with_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "cut.csv.gz"
    broken.write_bytes(SOURCE.read_bytes()[:5000])
    with pytest.raises(PipelineError, match=r"cut\.csv\.gz: could not be parsed"):
        read_sources(str(broken))


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "bikes.csv.gz").write_bytes(SOURCE.read_bytes())
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_reads_a_source_over_http_with_its_checksum(http_server: str, bike_source: pd.DataFrame) -> None:
    frame, files = read_sources(f"{http_server}/bikes.csv.gz")
    pd.testing.assert_frame_equal(frame, bike_source)
    import hashlib

    assert files[0].sha256 == hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    assert gzip.decompress(files[0].payload).startswith(b'"season"')


def test_http_errors_name_the_url(http_server: str) -> None:
    with pytest.raises(PipelineError, match=r"could not download http://127\.0\.0\.1:\d+/absent\.csv"):
        read_sources(f"{http_server}/absent.csv")

"""collect from HTTP(S) URLs (a real HTTP server on loopback) and from local files in every supported format."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from pipelines import load_problem
from tasks.core.errors import PipelineError
from tasks.data.sources import HttpSettings, download, parse_table, read_sources
from tasks.kinds.table_source import CollectSettings, collect

PROBLEM = load_problem("bike_demand")


class Script:
    """What the test server answers: a queue of (status, delay) per request, then 200 with `body`."""

    def __init__(self) -> None:
        self.body = b""
        self.plan: list[tuple[int, float]] = []
        self.requests = 0


@pytest.fixture
def http_server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.requests += 1
            status, delay = script.plan.pop(0) if script.plan else (200, 0.0)
            if delay:
                threading.Event().wait(delay)
            self.send_response(status)
            body = script.body if status == 200 else b"no"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def january_csv(bike_frame: pd.DataFrame) -> bytes:
    return bike_frame[bike_frame["day"] <= 31].to_csv(index=False).encode()


def test_transient_failures_are_retried_with_backoff(http_server: tuple[str, Script], january_csv: bytes) -> None:
    url, script = http_server
    script.body, script.plan = january_csv, [(503, 0), (500, 0)]
    waits: list[float] = []

    data = download(f"{url}/bike.csv", HttpSettings(retries=3, backoff_s=0.5), sleep=waits.append)

    assert data == january_csv
    assert waits == [0.5, 1.0]
    assert script.requests == 3


def test_client_errors_are_not_retried(http_server: tuple[str, Script]) -> None:
    url, script = http_server
    script.plan = [(404, 0)]
    with pytest.raises(PipelineError, match=rf"collect.source: could not download {url}/missing.csv: HTTP 404"):
        download(f"{url}/missing.csv", HttpSettings(retries=3), sleep=lambda s: None)
    assert script.requests == 1


def test_timeouts_exhaust_retries_with_a_clear_error(http_server: tuple[str, Script]) -> None:
    url, script = http_server
    script.plan = [(200, 1.0), (200, 1.0)]
    with pytest.raises(PipelineError, match=r"could not download .*/slow.csv after 2 attempt\(s\): .*timed out"):
        download(f"{url}/slow.csv", HttpSettings(timeout_s=0.2, retries=1), sleep=lambda s: None)


def test_url_source_is_collected_and_checksum_checked(
    http_server: tuple[str, Script], january_csv: bytes, tmp_path: Path
) -> None:
    url, script = http_server
    script.body = january_csv
    good = hashlib.sha256(january_csv).hexdigest()
    base = CollectSettings(source=f"{url}/bike.csv", as_of=pd.Timestamp("2011-12-31"), sha256=good)

    assert collect(base, PROBLEM, tmp_path / "raw")
    assert len(pd.read_parquet(tmp_path / "raw" / "data.parquet")) == january_csv.count(b"\n") - 1

    wrong = CollectSettings(**{**base.__dict__, "sha256": "0" * 64})
    with pytest.raises(PipelineError, match=rf"collect.sha256: {url}/bike.csv has sha256 {good}, expected 0000"):
        collect(wrong, PROBLEM, tmp_path / "other")


@pytest.mark.parametrize("name", ["b.csv", "b.csv.gz", "b.csv.bz2", "b.parquet", "b.jsonl", "b.ndjson.gz", "b.json"])
def test_every_format_reads_back_the_same_rows(name: str, bike_frame: pd.DataFrame, tmp_path: Path) -> None:
    rows = bike_frame.head(200)
    stem = name.removesuffix(".gz").removesuffix(".bz2")
    if stem.endswith(".parquet"):
        data = rows.to_parquet(index=False)
    elif stem.endswith(".csv"):
        data = rows.to_csv(index=False).encode()
    else:
        data = rows.to_json(orient="records", lines=True).encode()
    data = gzip.compress(data) if name.endswith(".gz") else bz2.compress(data) if name.endswith(".bz2") else data
    (tmp_path / name).write_bytes(data)

    frame, files = read_sources(str(tmp_path / name))

    pd.testing.assert_frame_equal(frame, rows)
    assert files[0].sha256 == hashlib.sha256(data).hexdigest()


def test_glob_reads_files_in_name_order(bike_frame: pd.DataFrame, tmp_path: Path) -> None:
    for month, part in enumerate((bike_frame.iloc[100:200], bike_frame.iloc[:100]), start=1):
        part.to_csv(tmp_path / f"m{3 - month}.csv", index=False)
    frame, files = read_sources(str(tmp_path / "m*.csv"))
    assert [Path(f.uri).name for f in files] == ["m1.csv", "m2.csv"]
    pd.testing.assert_frame_equal(frame, bike_frame.iloc[:200].reset_index(drop=True))


def test_unknown_format_and_missing_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_bytes(b"x")
    with pytest.raises(PipelineError, match=r"data.xlsx: unknown format; expected .csv, .parquet or .jsonl"):
        read_sources(str(tmp_path / "data.xlsx"))
    with pytest.raises(PipelineError, match=r"collect.source: no file at .*nothing.csv"):
        read_sources(str(tmp_path / "nothing.csv"))
    with pytest.raises(PipelineError, match=r"the pattern .*\*.parquet' matches no file"):
        read_sources(str(tmp_path / "*.parquet"))


def test_bz2_truncation_is_named(bike_frame: pd.DataFrame) -> None:
    from tasks.data.sources import SourceFile

    data = bz2.compress(bike_frame.head(100).to_csv(index=False).encode())
    with pytest.raises(PipelineError, match=r"x.csv.bz2: could not be parsed: not valid bz2 data"):
        parse_table(SourceFile("x.csv.bz2", data[:-20]))

"""Image sources get what table sources get: HTTP retries, checksums, and quarantine of a rejected batch."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from pipelines.fashion_mnist import PROBLEM
from tasks.core.errors import PipelineError
from tasks.data.sources import HttpSettings
from tasks.kinds.image_source import fetch_bytes, read_image_source
from tests.workspace_params import copy_params, set_params

SAMPLE = Path(__file__).resolve().parents[2] / "data/sources/fashion-mnist-sample"


@pytest.fixture
def flaky_server() -> Iterator[tuple[str, list[int]]]:
    """Serves the sample's files; the first request of each file answers 503."""
    seen: list[int] = []
    failed: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            if name not in failed:
                failed.add(name)
                seen.append(503)
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = (SAMPLE / name).read_bytes()
            seen.append(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fmnist", seen
    finally:
        server.shutdown()
        server.server_close()


def test_http_image_files_are_retried_after_a_server_error(flaky_server: tuple[str, list[int]]) -> None:
    url, seen = flaky_server
    http = HttpSettings(timeout_s=5, retries=2, backoff_s=0.01)
    table, files = read_image_source(url, PROBLEM, lambda uri: fetch_bytes(uri, http=http))
    local, _ = read_image_source(str(SAMPLE), PROBLEM)
    assert table.equals(local)
    assert seen.count(503) == 4 and seen.count(200) == 4  # each of the four files: one failure, one retry
    assert files[0]["uri"] == f"{url}/train-images-idx3-ubyte.gz"


def test_a_file_whose_checksum_differs_is_refused() -> None:
    name = "train-labels-idx1-ubyte.gz"
    right = hashlib.sha256((SAMPLE / name).read_bytes()).hexdigest()
    read_image_source(str(SAMPLE), PROBLEM, checksums={name: right})
    with pytest.raises(PipelineError, match=rf"collect.checksums: .*{name} has sha256 {right}, expected 0000"):
        read_image_source(str(SAMPLE), PROBLEM, checksums={name: "0" * 64})


def test_a_rejected_image_batch_is_quarantined_and_the_last_good_data_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.checks import validate
    from tasks.data import collect

    copy_params(tmp_path, "fashion_mnist")
    set_params(tmp_path, {"collect.source": str(SAMPLE)})
    monkeypatch.chdir(tmp_path)
    collect.main()
    validate.main()
    good = (tmp_path / "data/validated/data.parquet").read_bytes()

    raw = pd.read_parquet(tmp_path / "data/raw/data.parquet")
    raw[raw["label"] != 3].to_parquet(tmp_path / "data/raw/data.parquet", index=False)  # a batch without dresses
    with pytest.raises(PipelineError) as raised:
        validate.main()

    assert "every class present: classes with no image: ['Dress']" in str(raised.value)
    assert (tmp_path / "data/validated/data.parquet").read_bytes() == good
    kept = sorted((tmp_path / "data/quarantine").iterdir())
    assert len(kept) == 1 and str(kept[0].relative_to(tmp_path)) in str(raised.value)
    assert (kept[0] / "batch/data.parquet").read_bytes() == (tmp_path / "data/raw/data.parquet").read_bytes()
    summary = json.loads((kept[0] / "report/summary.json").read_text())
    assert not summary["success"]

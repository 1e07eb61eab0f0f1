"""`python -m tasks.serving` (what `make serve` runs) as its own process: port 0 read back, bearer token from the
environment, the prediction log flushed on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tasks.store.model_store import ModelStore
from tests.serving.conftest import store_versions
from tests.serving.tiny_models import TinyModel
from tests.workspaces import committed_yaml

pytestmark = pytest.mark.timeout(240)
REPO = Path(__file__).resolve().parents[2]


def post(url: str, payload: dict, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_serving_command_answers_on_the_port_it_picked_and_flushes_its_log_on_sigterm(
    tiny_bike: TinyModel, tmp_path: Path
) -> None:
    store_versions(ModelStore(tmp_path / "store", "bike_demand"), tiny_bike)
    params = committed_yaml("params.yaml")
    params["problem"] = "bike_demand"
    params["deploy"]["store"] = str(tmp_path / "store")
    params["serving"]["log"] = {"dir": str(tmp_path / "log"), "flush_rows": 1000, "flush_s": 600}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "TRAINLINE_SERVING_TOKEN": "s3cret-token", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "tasks.serving", "--params", str(tmp_path / "params.yaml"), "--port", "0"]
    stderr = (tmp_path / "server.log").open("w")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()  # printed once the model is loaded and requests are answered
        match = re.search(r"on (http://127\.0\.0\.1:\d+)$", first_line.strip())
        assert match, f"no address announced: {first_line!r} {(tmp_path / 'server.log').read_text()[-2000:]}"
        url = f"{match[1]}/v1/models/bike_demand:predict"

        refused, refusal = post(url, {"instances": tiny_bike.instances})
        status, answer = post(url, {"instances": tiny_bike.instances}, token="s3cret-token")
        process.send_signal(signal.SIGTERM)
        # uvicorn finishes the requests in flight and the lifespan (log flush), then re-raises SIGTERM
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        stderr.close()

    assert refused == 401 and "bearer token" in refusal["error"]
    assert status == 200 and len(answer["predictions"]) == len(tiny_bike.instances)
    logged = pd.read_parquet(tmp_path / "log")  # written at shutdown: flush_s and flush_rows were not reached
    assert len(logged) == len(tiny_bike.instances) and set(logged.version) == {1}

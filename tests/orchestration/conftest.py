"""A real `prefect server start` on 127.0.0.1 for the orchestration tests, started once for this package.

Not prefect_test_harness: the harness does not run the scheduler, and the scheduler is what a cron deployment needs.
The scheduler loops every second here (the default is 60 s) so a scheduled run appears within seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra import stack
from tests.prefect_harness import drain_prefect_workers


@dataclass(frozen=True)
class PrefectServer:
    api_url: str
    home: Path

    def environment(self) -> dict[str, str]:
        """What a subprocess (CLI, worker) needs to talk to this server and nothing else."""
        env = stack.quiet_environment() | {"PREFECT_API_URL": self.api_url, "PREFECT_HOME": str(self.home / "client")}
        return env


@pytest.fixture(scope="package")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("prefect-server")
    port = stack.free_port()
    started = stack.start_prefect_server(
        home / "server",
        port,
        home / "server.log",
        extra_env={"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1"},
    )
    server = PrefectServer(f"http://127.0.0.1:{port}/api", home)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server
            finally:
                drain_prefect_workers()
    finally:
        stack.stop(started)


def run_async(coroutine):
    """Run one coroutine to completion from a sync test."""
    return asyncio.run(coroutine)


@dataclass(frozen=True)
class S3:
    endpoint_url: str
    credentials: dict[str, str]

    def environment(self) -> dict[str, str]:
        return {**self.credentials, "AWS_ENDPOINT_URL": self.endpoint_url, "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="package")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    """SeaweedFS on loopback enforcing these test credentials (never real ones)."""
    root = tmp_path_factory.mktemp("seaweedfs")
    credentials = {"AWS_ACCESS_KEY_ID": "orchestration-test", "AWS_SECRET_ACCESS_KEY": "orchestration-test-secret"}
    ports = {flag: stack.free_port() for flag in stack.WEED_PORT_FLAGS}
    started = stack.start_seaweedfs(root / "data", ports, credentials, root / "weed.log")
    try:
        yield S3(f"http://127.0.0.1:{ports['s3.port']}", credentials)
    finally:
        stack.stop(started)

"""An in-process Prefect server for a test, and the cleanup that keeps one test's server from stalling the next.

Prefect's log and event workers are process-wide singletons bound to the API they first talked to, not to the
current PREFECT_API_URL. A worker left running after its server stops sends every later event to the dead server
(about a minute each, retried), so a later test's flow runs never reach its own server: its task runs and events
never appear, and draining the backlog on exit can outlast CI. Every server a test starts in-process is therefore
entered and left with the workers drained.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def drain_prefect_workers(timeout_s: float = 60.0) -> None:
    """Send what this process's Prefect log and event workers still hold (for at most `timeout_s` each), then stop
    them: the next event starts a fresh worker on the current settings."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout_s)
    EventsWorker.drain_all(timeout=timeout_s)


@contextmanager
def prefect_harness(startup_timeout_s: int = 120) -> Iterator[None]:
    """Prefect's test harness (a server on a temporary SQLite database) with no worker left from an earlier server."""
    from prefect.testing.utilities import prefect_test_harness

    drain_prefect_workers()
    with prefect_test_harness(server_startup_timeout=startup_timeout_s):
        yield

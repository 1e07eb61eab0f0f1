"""One flow run at a time per workspace: DVC's own lock makes a second `dvc repro` fail mid-pipeline, and two runs
interleaving stages would mix their outputs in one dvc.lock. A flow holds this lock for its whole run.

The lock is an flock on `.dvc/tmp/trainline-flow.lock` (git-ignored); the kernel releases it when the holder dies, so
a killed run never leaves a stale lock. The file names the holder, for the message the second run gives.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = Path(".dvc/tmp/trainline-flow.lock")


class WorkspaceBusy(RuntimeError):
    """Another flow run holds the workspace; the message names it and how long this one waited."""


@contextmanager
def workspace_lock(repo: Path, holder: str, wait_s: float = 0.0, poll_s: float = 0.5) -> Iterator[None]:
    """Hold the workspace `repo` for `holder` (e.g. a flow run's name and id), waiting up to `wait_s` for it."""
    path = repo / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        f"workspace {repo} is busy: {_holder(path)} is running there; this run waited {wait_s:.0f} s "
                        "(orchestrate.lock_wait_s in params.yaml) and stops without touching it. Run it again "
                        "when that one has finished."
                    ) from None
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        record = {"holder": holder, "pid": os.getpid(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        record = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        record = {}
    if not record:
        return "another flow run"
    return f"{record.get('holder')} (pid {record.get('pid')}, since {record.get('since')})"

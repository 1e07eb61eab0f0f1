"""Trained workspaces built once per test run and shared read-only, also between pytest-xdist workers.

`make test` runs the suite on two workers. A session fixture of pytest is per worker, so a whole-DAG workspace
(minutes of training) would be built once per worker. `build_once` builds it in the folder the workers share (the
parent of their base temporary folders), under a file lock: the first worker to ask builds it, a second one waits
and then reads the same folder. A failed build leaves no `.built` mark: the next worker to ask starts again from
nothing and fails with its own message.

Tests only read these workspaces. `fingerprint`/`assert_unchanged` prove it at the end of each worker's session; a
test that changes files takes its own copy (`conftest.pipeline_copy`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

BUILT = ".built"
# What a build of a whole DAG may take before the waiting worker counts it as hung (a build takes 1 to 4 minutes).
WAIT_S = 1800


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this run sees: the base temporary folder's parent under xdist, else itself."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """`<shared root>/<name>`, made by `build(folder)` by the first worker that asks; the others wait for it."""
    target = shared_root(tmp_path_factory) / name
    with FileLock(str(target) + ".lock", timeout=WAIT_S):
        if not (target / BUILT).is_file():
            shutil.rmtree(target, ignore_errors=True)  # what a failed build of another worker left
            target.mkdir(parents=True)
            build(target)
            (target / BUILT).touch()
    return target


def fingerprint(workspace: Path) -> dict[str, str]:
    """sha256 of every file of a workspace outside git's and DVC's own folders."""
    return {
        str(path.relative_to(workspace)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(workspace.rglob("*"))
        if path.is_file() and path.relative_to(workspace).parts[0] not in {".git", ".dvc"}
    }


def assert_unchanged(workspace: Path, before: dict[str, str]) -> None:
    after = fingerprint(workspace)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, (
        f"a test changed the shared workspace {workspace.name} ({changed[:10]}); "
        "tests that change a workspace must take their own copy (the pipeline_copy fixture)"
    )

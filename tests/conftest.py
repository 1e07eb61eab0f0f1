"""Shared fixtures: the bundled data, and workspaces (copies of the repository as git holds it) to run the DAG in.

`pipeline_workspace` and `image_workspace` have run the whole DAG once and are shared by the session: tests only
read them (a teardown check fails the session if one was changed). A test that changes a workspace (a corrupt
source, a flow run, an experiment) takes `pipeline_copy`, its own full copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.processes import run, subprocess_env
from tests.workspaces import REPO, clone_workspace, commit_all, copy_repository

__all__ = ["FAST_TRAIN", "REPO", "SOURCE", "copy_repository", "run", "subprocess_env"]

SOURCE = REPO / "data/sources/bikeshare-2011.csv.gz"
# Small but honest: enough epochs to beat the common-sense baseline, few enough for CI.
FAST_TRAIN = {"epochs": 25, "patience": 5, "batch_size": 64}
# What a whole-DAG run may take on 2 shared cores before it counts as hung (it takes about 3 to 6 minutes).
REPRO_TIMEOUT_S = 1500


@pytest.fixture(scope="session")
def bike_source() -> pd.DataFrame:
    return pd.read_csv(SOURCE)


def _fingerprint(workspace: Path) -> dict[str, str]:
    """sha256 of every file of a workspace outside git's and DVC's own folders."""
    return {
        str(path.relative_to(workspace)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(workspace.rglob("*"))
        if path.is_file() and path.relative_to(workspace).parts[0] not in {".git", ".dvc"}
    }


def _unchanged_by_tests(workspace: Path, before: dict[str, str]) -> None:
    after = _fingerprint(workspace)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, (
        f"a test changed the shared workspace {workspace.name} ({changed[:10]}); "
        "tests that change a workspace must take their own copy (the pipeline_copy fixture)"
    )


@pytest.fixture(scope="session")
def pipeline_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the repository where `dvc repro` has run the whole DAG once, with fast training params.
    Shared by the session: read it, never change it (take `pipeline_copy` for that)."""
    workspace = copy_repository(tmp_path_factory.mktemp("pipeline"), {"train": FAST_TRAIN})
    done = run(["dvc", "repro"], workspace, timeout_s=REPRO_TIMEOUT_S)
    (workspace / "first_repro.log").write_text(done.stdout + done.stderr)
    commit_all(workspace, "dvc repro")  # as a user would: dvc.lock and the metrics in git, experiments diff against it
    before = _fingerprint(workspace)
    yield workspace
    _unchanged_by_tests(workspace, before)


@pytest.fixture
def pipeline_copy(pipeline_workspace: Path, tmp_path: Path) -> Path:
    """This test's own full copy of `pipeline_workspace` (git, DVC cache, outputs, model store): up to date."""
    return clone_workspace(pipeline_workspace, tmp_path / "workspace")


@pytest.fixture(scope="session")
def image_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The image problem run by ONE parameter (`dvc exp run -S problem=fashion_mnist`) from the bundled sample, with
    the problem's own params and gate (30 epochs of the default CNN, about 2 minutes of training on 2 cores: fewer
    epochs or a smaller CNN do not beat the pixel logistic regression). Shared by the session: read it only."""
    workspace = copy_repository(tmp_path_factory.mktemp("images"), {})
    done = run(["dvc", "exp", "run", "-S", "problem=fashion_mnist"], workspace, timeout_s=REPRO_TIMEOUT_S)
    (workspace / "exp_run.log").write_text(done.stdout + done.stderr)
    before = _fingerprint(workspace)
    yield workspace
    _unchanged_by_tests(workspace, before)

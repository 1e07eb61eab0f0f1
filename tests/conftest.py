"""Shared fixtures: the bundled data, and workspaces (copies of the repository as git holds it) to run the DAG in.

`pipeline_workspace` is a newcomer's fresh clone after `make run`, and `image_workspace` the image problem after
`dvc exp run -S problem=fashion_mnist`; each is built once per test run, also when pytest-xdist runs the suite on
several workers (tests/shared_workspaces.py), and tests only read them (a teardown check fails the session if one was
changed). A test that changes a workspace (a corrupt source, a flow run, an experiment) takes `pipeline_copy`, its
own full copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.processes import run, subprocess_env
from tests.shared_workspaces import assert_unchanged, build_once, fingerprint
from tests.workspaces import GIT, REPO, clone_workspace, commit_all, copy_repository, fresh_clone

__all__ = ["FAST_TRAIN", "REPO", "SOURCE", "copy_repository", "run", "subprocess_env"]

SOURCE = REPO / "data/sources/bikeshare-2011.csv.gz"
# Small but honest: enough epochs to beat the common-sense baseline, few enough for CI.
FAST_TRAIN = {"epochs": 25, "patience": 5, "batch_size": 64}
# What a whole-DAG run may take on 2 shared cores before it counts as hung (it takes about 2 to 6 minutes).
REPRO_TIMEOUT_S = 1500


# The modules that take longest, in the order the suite starts them (then every other module, as collected).
# `make test` hands whole modules to 2 pytest-xdist workers in collection order (--dist loadscope
# --no-loadscope-reorder; xdist's own reorder puts modules with the most tests first, which left the one-test
# modules of a minute or more for last, so one worker ran on alone at the end). Longest first, the short ones fill in
# at the end and both workers finish together. The first two build the shared workspaces, one on each worker, at
# the start; the next modules that read them come after what each worker has to do meanwhile (waiting for the
# other worker's build is time lost). Seconds are of a module on its own on 2 cores (setup included, the shared
# builds not): a guide to where a new heavy module goes.
LONGEST_FIRST = (
    "tests/test_newcomer.py",  # builds `newcomer` (make run twice, 90 to 200 s) for every module that reads it
    "tests/test_image_pipeline_e2e.py",  # builds `image_workspace` (30 epochs of the CNN, 110 s)
    "tests/test_readme_commands.py",  # 200 s; on the worker that built `newcomer`
    "tests/test_breast_cancer_e2e.py",  # 90 s
    "tests/test_gate_pipeline.py",  # 75 s
    "tests/test_movie_reviews_e2e.py",  # 70 s
    "tests/test_weather_forecast_e2e.py",  # 70 s
    "tests/orchestration/test_stack.py",  # 40 s
    # the modules of the orchestration package's Prefect server together, so a worker starts it once
    "tests/orchestration/test_flows.py",  # 100 s and more
    "tests/orchestration/test_deployments.py",
    "tests/orchestration/test_remote_stage.py",
    "tests/orchestration/test_monitoring_flow.py",
    "tests/orchestration/test_prefect_server.py",
    "tests/orchestration/test_flow_preflight.py",
    # the other readers of the shared workspaces
    "tests/test_reports_offline_e2e.py",
    "tests/test_pipeline_e2e.py",
    "tests/test_flow.py",  # 45 s
    "tests/test_flow_stage_failure.py",  # 30 s
    # modules that train, serve or start a cluster (seconds to a minute), before the many short ones
    "tests/test_train_distributed.py",
    "tests/test_train_resume.py",
    "tests/test_tune.py",
    "tests/test_reproducible.py",
    "tests/test_train_image.py",
    "tests/test_train_and_export.py",
    "tests/test_model_identity.py",
    "tests/serving/test_model_store_s3.py",
    "tests/test_scale_cluster.py",
    "tests/test_scale_equivalence.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """LONGEST_FIRST's modules first, in its order; the rest keep the order they were collected in."""
    rank = {module: i for i, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def make_env() -> dict[str, str]:
    """The environment for a nested `make`: this venv first on PATH, and none of the MAKEFLAGS of the `make test`
    that may have started pytest (its variables would reach the inner make)."""
    return {k: v for k, v in subprocess_env().items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}


# `make run` as README.md gives it, less the install step: this test run's environment is the one `make setup`
# made (`-o` tells make the venv stamp is up to date, so it neither installs nor touches the repository's .venv).
MAKE_RUN = ["make", "--no-print-directory", "-o", ".venv/.synced-cpu", "EXTRA=cpu", "run"]


def _newcomer_after_make_run(root: Path) -> None:
    """root/repo: a fresh clone (the committed params, lock and metrics) after `make run`, then `make run` again;
    the logs and `git status` after each beside it (outside the clone, so they are not in its status)."""
    workspace = fresh_clone(root / "repo")
    first = run(MAKE_RUN, workspace, timeout_s=REPRO_TIMEOUT_S, env=make_env())
    (root / "first_run.log").write_text(first.stdout + first.stderr)
    status = [*GIT, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"]
    (root / "status_after_first_run.txt").write_text(run(status, workspace, timeout_s=60).stdout)
    second = run(MAKE_RUN, workspace, timeout_s=REPRO_TIMEOUT_S, env=make_env())
    (root / "second_run.log").write_text(second.stdout + second.stderr)
    (root / "status_after_second_run.txt").write_text(run(status, workspace, timeout_s=60).stdout)
    if (root / "status_after_second_run.txt").read_text():  # a stale lock in this checkout: tests still diff to HEAD
        commit_all(workspace, "make run")


@pytest.fixture(scope="session")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding `repo` (a fresh clone after `make run` twice) and the logs of both runs."""
    return build_once(tmp_path_factory, "newcomer", _newcomer_after_make_run)


@pytest.fixture(scope="session")
def bike_source() -> pd.DataFrame:
    return pd.read_csv(SOURCE)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[object]:
    """A Dask LocalCluster of 2 worker processes (1 thread each, 127.0.0.1) and a client of it, started once per test
    process for the Dask equivalence tests (tests/test_scale_equivalence.py, test_feature_spec_on_dask.py,
    test_monitor_on_dask.py); the real `dask scheduler` + workers: tests/test_scale_cluster.py."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
        ) as running,
        Client(running) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def pipeline_workspace(newcomer: Path) -> Iterator[Path]:
    """The bike-demand DAG as a newcomer gets it: a fresh clone with the committed params after `make run`.
    Shared by the session: read it, never change it (take `pipeline_copy` for that)."""
    workspace = newcomer / "repo"
    before = fingerprint(workspace)
    yield workspace
    assert_unchanged(workspace, before)


@pytest.fixture
def pipeline_copy(pipeline_workspace: Path, tmp_path: Path) -> Path:
    """This test's own full copy of `pipeline_workspace` (git, DVC cache, outputs, model store): up to date."""
    return clone_workspace(pipeline_workspace, tmp_path / "workspace")


def _images_by_one_parameter(root: Path) -> None:
    workspace = copy_repository(root, {})
    done = run(["dvc", "exp", "run", "-S", "problem=fashion_mnist"], workspace, timeout_s=REPRO_TIMEOUT_S)
    (workspace / "exp_run.log").write_text(done.stdout + done.stderr)


@pytest.fixture(scope="session")
def image_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The image problem run by ONE parameter (`dvc exp run -S problem=fashion_mnist`) from the bundled sample, with
    the problem's own params and gate (30 epochs of the default CNN, about 2 minutes of training on 2 cores: fewer
    epochs or a smaller CNN do not beat the pixel logistic regression). Shared by the session: read it only."""
    workspace = build_once(tmp_path_factory, "images", _images_by_one_parameter)
    before = fingerprint(workspace)
    yield workspace
    assert_unchanged(workspace, before)

"""Shared fixtures: the repository, the bundled data, and a temporary copy of the repo to run the DAG in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "data/sources/bikeshare-2011.csv.gz"
# Small but honest: enough epochs to beat the common-sense baseline, few enough for CI.
FAST_TRAIN = {"epochs": 25, "patience": 5, "batch_size": 64}


@pytest.fixture(scope="session")
def bike_source() -> pd.DataFrame:
    return pd.read_csv(SOURCE)


def subprocess_env() -> dict[str, str]:
    """The environment stages run with: this interpreter's venv first on PATH, no analytics."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update({"GX_ANALYTICS_ENABLED": "False", "DO_NOT_TRACK": "1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    return env


def run(command: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=subprocess_env(), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def copy_repository(dest: Path, params: dict[str, dict[str, Any]]) -> Path:
    """Copy the repository's files (tracked and untracked-but-not-ignored) into a fresh git repo at `dest`,
    with `params` merged into params.yaml. No pipeline outputs are copied: the DAG starts from nothing."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    # Outputs kept in git (metrics, receipt) would otherwise look like results of this copy.
    for committed_output in (
        "reports/evaluation/metrics.json",
        "reports/evaluation/predictions.csv",
        "reports/monitoring/drift.json",
        "data/deploy/receipt.json",
    ):
        (dest / committed_output).unlink(missing_ok=True)
    config = yaml.safe_load((dest / "params.yaml").read_text())
    for section, values in params.items():
        config.setdefault(section, {}).update(values)
    (dest / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    git = ["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost"]
    run(["git", "init", "-q"], dest)
    run([*git, "add", "-A"], dest)
    run([*git, "commit", "-qm", "workspace"], dest)
    return dest


@pytest.fixture(scope="session")
def pipeline_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the repository where `dvc repro` has run the whole DAG once, with fast training params."""
    workspace = copy_repository(tmp_path_factory.mktemp("pipeline"), {"train": FAST_TRAIN})
    done = run(["dvc", "repro"], workspace)
    (workspace / "first_repro.log").write_text(done.stdout + done.stderr)
    yield workspace

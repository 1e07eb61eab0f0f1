"""Workspaces for tests that run stages: built from what git holds, never from the live working tree.

A test's result must depend on the commit, not on the developer's folder: an edited `params.yaml`, an untracked
file, a `.bench/` summary or a `data/` output left by an earlier `make run` must not leak in. Files come from git's
index (`git checkout-index`): in CI (a fresh clone) that is exactly HEAD; a developer testing a change stages it
first (`git add`), and unstaged edits are ignored.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.processes import run

REPO = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost", "-c", "commit.gpgsign=false"]
# Outputs kept in git (metrics, receipt) would otherwise look like results of a workspace's own run.
COMMITTED_OUTPUTS = (
    "reports/evaluation/metrics.json",
    "reports/evaluation/predictions.csv",
    "reports/monitoring/drift.json",
    "data/deploy/receipt.json",
)


def committed_text(path: str) -> str:
    """The text of the repository file `path` as git's index holds it (HEAD in a fresh clone)."""
    return run(["git", "show", f":{path}"], REPO, timeout_s=60).stdout


def committed_yaml(path: str) -> Any:
    return yaml.safe_load(committed_text(path))


def export_files(dest: Path, paths: list[str] | None = None) -> Path:
    """Write the indexed files (all, or those under `paths`) into `dest`, as checked out from git."""
    dest.mkdir(parents=True, exist_ok=True)
    prefix = f"--prefix={dest.resolve()}/"
    if paths is None:
        run(["git", "checkout-index", "--all", "--force", prefix], REPO, timeout_s=120)
    else:
        listed = run(["git", "ls-files", "-z", "--", *paths], REPO, timeout_s=60).stdout.split("\0")
        names = [name for name in listed if name]
        if not names:
            raise AssertionError(f"git holds no file under {paths}")
        run(["git", "checkout-index", "--force", prefix, "--", *names], REPO, timeout_s=120)
    return dest


def merge_params(path: Path, params: dict[str, dict[str, Any]]) -> None:
    """Merge `params` ({section: {key: value}}) into the YAML file at `path`, one section at a time."""
    config = yaml.safe_load(path.read_text())
    for section, values in params.items():
        config.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def commit_all(workspace: Path, message: str) -> None:
    run([*GIT, "add", "-A"], workspace, timeout_s=120)
    run([*GIT, "commit", "-qm", message], workspace, timeout_s=120)


def copy_repository(dest: Path, params: dict[str, dict[str, Any]]) -> Path:
    """The repository as git holds it, in a fresh git repo at `dest`, with `params` merged into params.yaml.

    No pipeline outputs are copied (not even those committed): the DAG starts from nothing.
    """
    export_files(dest)
    for committed_output in COMMITTED_OUTPUTS:
        (dest / committed_output).unlink(missing_ok=True)
    merge_params(dest / "params.yaml", params)
    run(["git", "init", "-q"], dest, timeout_s=60)
    commit_all(dest, "workspace")
    return dest


def fresh_clone(dest: Path) -> Path:
    """What `git clone` of this commit gives a newcomer: the indexed files, committed outputs included, as one commit
    of a new repository at `dest`, with the params as committed."""
    export_files(dest)
    run(["git", "init", "-q", "-b", "main"], dest, timeout_s=60)  # the branch README's `dvc metrics diff main` names
    commit_all(dest, "clone")
    return dest


def clone_workspace(source: Path, dest: Path) -> Path:
    """A full copy of a workspace that has run (git repo, DVC cache, outputs, model store), for a test to change."""
    shutil.copytree(source, dest, symlinks=True)
    return dest

"""Byte-reproducible stages: the whole DAG run in two fresh copies of the repository gives the same hash for every
DVC out, so a fresh clone's `dvc repro` leaves `dvc.lock` (and `git status`) as committed.

Cheap on purpose: 3 epochs and one permutation repeat (the DAG's cost is mostly imports); both copies run at once.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_repository, subprocess_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

CHEAP = {"train": {"epochs": 3, "patience": 3}, "evaluate": {"permutation_repeats": 1}}


def out_hashes(workspace: Path) -> dict[str, str]:
    """Every stage's outs in dvc.lock: path -> md5 (a directory's is the hash of its listing of file hashes)."""
    lock = yaml.safe_load((workspace / "dvc.lock").read_text())
    return {
        out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", []) if "md5" in out
    }


def test_the_dag_gives_byte_identical_outputs_in_two_fresh_copies(tmp_path: Path) -> None:
    copies = [copy_repository(tmp_path / name, CHEAP) for name in ("first", "second")]
    for copy in copies:
        (copy / "reports/history").mkdir(parents=True, exist_ok=True)
    runs = [
        subprocess.Popen(
            ["dvc", "repro"], cwd=c, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for c in copies
    ]
    logs = [run.communicate(timeout=1400)[0].decode(errors="replace") for run in runs]
    for run, log in zip(runs, logs, strict=True):
        assert run.returncode == 0, log[-3000:]

    first, second = (out_hashes(c) for c in copies)
    assert len(first) >= 15  # every stage's outs, not a partial DAG
    differing = {
        path: (first.get(path), second.get(path))
        for path in first.keys() | second.keys()
        if first.get(path) != second.get(path)
    }
    assert differing == {}
    # the committed, cache: false outs are the same bytes too (git would show them as changed)
    for path in ("reports/evaluation/metrics.json", "data/deploy/receipt.json", "reports/monitoring/drift.json"):
        assert (copies[0] / path).read_bytes() == (copies[1] / path).read_bytes(), path

"""Every problem's source file is a DVC dependency of collect (tasks/structure/source_deps.py): dvc.yaml lists them
as `make structure` writes them, and a source edited in place shows up in `dvc status` as collect's changed dep."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import yaml

from tasks.structure.source_deps import MARKER, problem_sources, rewrite_sources
from tests.processes import run
from tests.workspaces import REPO, copy_repository

pytestmark = pytest.mark.timeout(300)


def test_dvc_yaml_lists_every_problems_local_source_as_make_structure_writes_it() -> None:
    text = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    sources = problem_sources(REPO)
    assert "data/sources/breast-cancer.csv.gz" in sources and "data/sources/bikeshare-2011.csv.gz" not in sources
    assert rewrite_sources(text, sources) == text, "dvc.yaml is stale: run make structure"
    collect_deps = yaml.safe_load(text)["stages"]["collect"]["deps"]
    assert {"pipelines/${problem}", "${collect.source}", *sources} <= set(collect_deps)
    grown = rewrite_sources(text, [*sources, "data/sources/new.csv"])
    assert "      - data/sources/new.csv" in grown and grown.count(MARKER) == 1


def test_a_source_edited_in_place_makes_dvc_status_report_collect_changed(tmp_path: Path) -> None:
    workspace = copy_repository(tmp_path / "ws", {})
    params = workspace / "params.yaml"
    params.write_text(params.read_text().replace("problem: bike_demand", "problem: breast_cancer", 1))
    env_path = f"{REPO / '.venv/bin'}"
    env = {"PATH": f"{env_path}:/usr/bin:/bin"}
    run(["dvc", "repro", "--single-item", "collect"], workspace, env=env, timeout_s=240)
    assert "collect" not in run(["dvc", "status", "collect"], workspace, env=env, timeout_s=60).stdout
    source = workspace / "data/sources/breast-cancer.csv.gz"
    text = gzip.decompress(source.read_bytes()).decode()
    source.write_bytes(gzip.compress(text.replace("\n", "\n", 1).rstrip("\n").encode() + b"\n\n", mtime=0))
    status = run(["dvc", "status", "collect"], workspace, env=env, timeout_s=60).stdout
    assert "collect" in status and "data/sources/breast-cancer.csv.gz" in status, status

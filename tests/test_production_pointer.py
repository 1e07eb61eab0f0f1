"""A corrupt or dangling production pointer stops the run with one message naming the file and the store command
that repairs it: in the cheap check before the DAG (tasks.store.preflight), in evaluate (the champion) and in deploy;
the pointer and the store stay byte-identical, and evaluate's outputs are kept when it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.core.errors import PipelineError
from tasks.evaluation.champion import champion_identity
from tasks.store.deploy import deploy
from tasks.store.model_store import ModelStore
from tests.tiny_export import write_tiny_export
from tests.workspace_params import copy_params, set_params
from tests.workspaces import committed_yaml

REPO = Path(__file__).resolve().parent.parent
BROKEN = {
    "not UTF-8": (b"\xff\xfe\x00garbage\x9c", "not JSON"),
    "truncated JSON": (b'{"model": "bike_demand", "vers', "not JSON"),
    "no version": (b'{"model": "bike_demand"}', "integer 'version'"),
    "dangling version": (b'{"model": "bike_demand", "version": 7}', "names version 7, which the store does not hold"),
}


def store_with_one_version(root: Path) -> ModelStore:
    savedmodel = write_tiny_export(root / "export", b"weights") / "savedmodel"
    store = ModelStore(root / "store", "bike_demand")
    version, _ = store.add_version(savedmodel, {})
    store.promote(version, "first")
    return store


def preflight(workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "tasks.store.preflight"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_pointer_is_refused_before_the_dag_naming_the_file_and_the_repair(tmp_path: Path, case: str) -> None:
    copy_params(tmp_path, "bike_demand")
    store = store_with_one_version(tmp_path)
    set_params(tmp_path, {"deploy.store": str(tmp_path / "store")})
    assert preflight(tmp_path).returncode == 0  # a sound pointer passes

    content, expected = BROKEN[case]
    pointer = tmp_path / "store/bike_demand/production.json"
    pointer.write_bytes(content)
    done = preflight(tmp_path)
    assert done.returncode == 1
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(f"[preflight] FAILED: {pointer}: ")
    assert expected in message
    assert "python -m tasks.store.cli promote <version>" in message and "stored versions: [1]" in message
    assert "Traceback" not in done.stderr
    assert pointer.read_bytes() == content and store.versions() == [1]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_evaluate_and_deploy_refuse_a_broken_pointer_and_change_nothing(tmp_path: Path, case: str) -> None:
    store = store_with_one_version(tmp_path)
    pointer = store.model_dir / "production.json"
    content, expected = BROKEN[case]
    pointer.write_bytes(content)

    with pytest.raises(PipelineError, match=expected) as refused:
        champion_identity(store)  # what evaluate reads first, before loading TensorFlow or writing anything
    assert str(pointer) in str(refused.value)

    blessing = {"blessed": True, "reasons": ["better"], "champion": None}
    with pytest.raises(PipelineError, match=expected):
        deploy(store, tmp_path / "export", blessing, {})
    assert pointer.read_bytes() == content and store.versions() == [1]


def test_a_pointer_to_an_incomplete_version_is_refused(tmp_path: Path) -> None:
    store = store_with_one_version(tmp_path)
    (store.version_dir(1) / "assets.extra/fingerprint.sha256").unlink()
    with pytest.raises(PipelineError, match="version 1, which is incomplete"):
        champion_identity(store)


def test_no_pointer_means_nothing_in_production(tmp_path: Path) -> None:
    assert champion_identity(ModelStore(tmp_path / "store", "bike_demand")) is None


def test_a_failing_evaluate_keeps_the_last_evaluation_outputs() -> None:
    """DVC deletes a stage's outputs before running it unless they persist; evaluate writes each atomically."""
    stage = committed_yaml("dvc.yaml")["stages"]["evaluate"]
    for entry in stage["outs"] + stage["metrics"]:
        (path, options), *_ = entry.items() if isinstance(entry, dict) else [(entry, {})]
        assert options.get("persist") is True, f"{path} would be deleted before a failing evaluate"

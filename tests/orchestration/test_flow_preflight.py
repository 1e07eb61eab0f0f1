"""The training flow runs `python -m tasks.store.preflight` before the stages, as `make run` does: a corrupt production
pointer stops it before any stage runs, naming the file and the repair command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_repository
from tests.orchestration.conftest import PrefectServer

pytestmark = pytest.mark.timeout(300)


def test_a_corrupt_production_pointer_stops_the_training_flow_before_any_stage(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    from flows.training import training_pipeline

    workspace = copy_repository(tmp_path / "ws", {})
    pointer = workspace / "data/model_store/bike_demand/production.json"
    pointer.parent.mkdir(parents=True)
    pointer.write_bytes(b"\xff{not json")

    state = training_pipeline(repo=str(workspace), return_state=True)

    assert state.is_failed()
    message = str(state.result(raise_on_failure=False))
    assert "preflight failed" in message and "production.json: the production pointer is corrupt" in message
    assert "python -m tasks.store.cli promote" in message
    assert not (workspace / "data/raw").exists()  # collect never ran

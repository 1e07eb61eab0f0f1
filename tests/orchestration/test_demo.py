"""`make demo`, shortened: the closed loop on a real local stack (Prefect server, worker, SeaweedFS), a real server
process and two real DAG runs. About 10 minutes on 2 shared cores (two trainings and the stack's first start), so it
is `slow`: run it with `pytest -m slow tests/orchestration/test_demo.py`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def test_drift_in_replayed_months_retrains_and_the_server_moves_to_version_2_without_a_failed_request(
    tmp_path: Path,
) -> None:
    from infra.demo import demo

    result = demo(tmp_path, epochs=25, months=[6, 7], timeout_s=1500)

    root = Path(result["workdir"])
    assert result["new_version"] == 2
    assert result["windows_fired"] and all("data_drift" in s for s in result["windows_fired"].values())
    assert all(answer.startswith("200 ") for answer in result["answers"]), result["answers"]
    assert "200 v2" in result["answers"]
    receipt = json.loads((root / "data/deploy/receipt.json").read_text())
    assert receipt["deployed"] and receipt["production_version"] == 2
    assert (root / "reports/monitoring/index.html").read_text().count("<svg") >= 3
    assert not list((tmp_path / "stack/pids").glob("*.pid"))  # the stack was stopped

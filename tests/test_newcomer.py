"""The newcomer's path, for real, on a fresh clone: `make run`, then `make serve` on a free port answers a predict
from version 1, `store_cli list` has every column filled, and the first report shows no warning on the default data.

The clone and both `make run`s are the session's `newcomer` fixture (tests/conftest.py), which the other tests of the
default DAG read too (`pipeline_workspace`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import make_env, run
from tests.serving_process import request, served

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STAGES = ["collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy", "monitor", "report"]
MAKE = ["make", "--no-print-directory", "-o", ".venv/.synced-cpu", "EXTRA=cpu"]
# README.md's example request (section "Serving"), one row of the bundled data's columns
ROW = {
    "season": 2,
    "hr": 14,
    "holiday": 0,
    "weekday": 3,
    "workingday": 1,
    "weathersit": "cloudy/misty",
    "temp": 0.42,
    "atemp": 0.4242,
    "hum": 0.77,
    "windspeed": 0.2537,
}


def test_make_run_on_a_fresh_clone_runs_every_stage_and_ends_with_version_1_in_production(newcomer: Path) -> None:
    log = (newcomer / "first_run.log").read_text()
    assert re.findall(r"Running stage '(\w+)'", log) == STAGES
    assert "promoted version 1; production is version 1" in log
    pointer = json.loads((newcomer / "repo/data/model_store/bike_demand/production.json").read_text())
    assert pointer["version"] == 1


def test_make_run_on_a_fresh_clone_leaves_git_status_clean(newcomer: Path) -> None:
    """Byte-identical outputs: every hash in the committed dvc.lock, the committed metrics and receipt come back."""
    status = (newcomer / "status_after_first_run.txt").read_text()
    assert status == "", (
        f"`make run` on a fresh clone changed what git holds:\n{status}\nIf code or params changed on purpose, "
        "commit the dvc.lock, metrics and receipt that `make run` writes in a fresh clone."
    )


def test_a_second_make_run_runs_no_stage_and_promotes_nothing(newcomer: Path) -> None:
    log = (newcomer / "second_run.log").read_text()
    assert "Running stage" not in log and "promoted" not in log
    assert (newcomer / "status_after_second_run.txt").read_text() == ""
    assert sorted(p.name for p in (newcomer / "repo/data/model_store/bike_demand").iterdir() if p.name.isdigit()) == [
        "1"
    ]


def test_make_serve_answers_a_predict_from_version_1_right_after_make_run(newcomer: Path, tmp_path: Path) -> None:
    workspace = newcomer / "repo"
    serve = [*MAKE, "serve", f"SERVE_ARGS=--port 0 --log-dir {tmp_path / 'log'}"]
    with served(serve, workspace, make_env(), tmp_path / "server.log") as address:
        status, answer = request(f"{address}/v1/models/bike_demand:predict", {"instances": [ROW]})
        model_status, described = request(f"{address}/v1/models/bike_demand")

    assert status == 200, answer
    assert len(answer["predictions"]) == 1 and answer["predictions"][0][0] > 0
    assert model_status == 200 and described["model_version_status"][0]["version"] == "1"
    assert described["model_version_status"][0]["state"] == "AVAILABLE"


def test_store_cli_list_fills_every_column_for_the_deployed_version(newcomer: Path) -> None:
    workspace = newcomer / "repo"
    listed = run(["python", "-m", "tasks.store_cli", "list"], workspace, env=make_env()).stdout
    _header, *rows = [line for line in listed.splitlines() if line.strip()]
    row = next(line for line in rows if line.split()[0] == "1")
    assert "production" in row
    assert " - " not in f" {row} " and not row.rstrip().endswith("-"), listed
    rmse = json.loads((workspace / "reports/evaluation/metrics.json").read_text())["model"]["rmse"]
    assert f"{rmse:.2f}"[:-1] in row, listed  # the headline metric of the version, as its evaluation measured it


def test_the_first_report_index_shows_no_warning_on_the_default_data(newcomer: Path) -> None:
    log = (newcomer / "first_run.log").read_text()
    report_line = next(line for line in log.splitlines() if line.startswith("[report]"))
    assert "(warn)" not in report_line and "(fail)" not in report_line, report_line
    drift = json.loads((newcomer / "repo/reports/monitoring/drift.json").read_text())
    assert drift["status"] == "measured" and not drift["dataset_drift"], drift

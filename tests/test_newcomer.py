"""The newcomer's path, for real, on a fresh clone: `make run`, then `make serve` on a free port answers README's own
requests with README's answers from version 1, `store_cli list` has every column filled, and the first report says
only what is true of the default data.

The clone and both `make run`s are the session's `newcomer` fixture (tests/conftest.py), which the other tests of the
default DAG read too (`pipeline_workspace`).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_env, run
from tests.readme_commands import commands_and_outputs
from tests.required_tools import missing_tool
from tests.serving_process import served

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STAGES = ["collect", "validate", "featurize", "tune", "train", "evaluate", "export", "deploy", "monitor", "report"]
MAKE = ["make", "--no-print-directory", "-o", ".venv/.synced-cpu", "EXTRA=cpu"]


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


def test_make_serve_answers_readme_requests_from_version_1_after_make_run(newcomer: Path, tmp_path: Path) -> None:
    """README's `curl` commands, run as written against `make serve` (on a free port instead of 8501), give the
    answers README shows: the prediction (within 2%: another CPU may sum in another order), the model status and the
    refusal of an unknown category, word for word."""
    if shutil.which("curl") is None:
        missing_tool("curl (README's requests)", "sudo apt-get install curl")
    workspace = newcomer / "repo"
    shown = [(command, output) for command, output in commands_and_outputs() if command.startswith("curl ")]
    assert len(shown) == 3, shown
    serve = [*MAKE, "serve", f"SERVE_ARGS=--port 0 --log-dir {tmp_path / 'log'}"]
    with served(serve, workspace, make_env(), tmp_path / "server.log") as address:
        answers = [
            run(["bash", "-c", command.replace("http://127.0.0.1:8501", address)], workspace).stdout
            for command, _ in shown
        ]

    for (command, output), answer in zip(shown, answers, strict=True):
        expected, got = json.loads(output), json.loads(answer)
        if "predictions" in expected:
            assert got["predictions"][0][0] == pytest.approx(expected["predictions"][0][0], rel=0.02), (command, got)
        else:
            assert got == expected, (command, got)


def test_store_cli_list_fills_every_column_for_the_deployed_version(newcomer: Path) -> None:
    workspace = newcomer / "repo"
    listed = run(["python", "-m", "tasks.store.cli", "list"], workspace, env=make_env()).stdout
    _header, *rows = [line for line in listed.splitlines() if line.strip()]
    row = next(line for line in rows if line.split()[0] == "1")
    assert "production" in row
    assert " - " not in f" {row} " and not row.rstrip().endswith("-"), listed
    rmse = json.loads((workspace / "reports/evaluation/metrics.json").read_text())["model"]["rmse"]
    assert f"{rmse:.2f}"[:-1] in row, listed  # the headline metric of the version, as its evaluation measured it


def test_the_first_report_index_is_true_the_only_warning_is_the_calibrated_drift_of_may(newcomer: Path) -> None:
    """Validation, training and evaluation pass. The drift entry is the calibrated verdict production monitoring
    gives too (not Evidently's 50%-of-columns preset): May is warmer and busier than January to March, which is true
    of the bundled data (tests/test_monitor.py pins why), and the index says what was compared with what."""
    log = (newcomer / "first_run.log").read_text()
    report_line = next(line for line in log.splitlines() if line.startswith("[report]"))
    assert "validation (pass), training (pass), evaluation (pass), drift (warn)" in report_line, report_line
    drift = json.loads((newcomer / "repo/reports/monitoring/drift.json").read_text())
    assert drift["verdict"] == "drift" and "temp" in drift["drifted_columns"]
    index = (newcomer / "repo/reports/index.html").read_text()
    assert "the 30 days after collect.as_of 2011-05-01 (720 rows) vs the training split (1950 rows)" in index

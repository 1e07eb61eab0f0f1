"""Every command README.md shows in a bash block is run by a test, so README cannot drift from the code.

This file runs, as written (through bash, in a copy of the newcomer's fresh clone after `make run`), the commands it
lists in RUN_HERE: the experiment walk-through, the store and monitoring commands, `make prefect-server` with
`make flow`. The others are run by the test named in tests/readme_commands.py ELSEWHERE, or listed there in NOT_RUN
with the reason (a placeholder for a download of the user's own).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import external_loads
from tests.conftest import make_env
from tests.processes import kill_tree, run
from tests.readme_commands import ELSEWHERE, NOT_RUN, REPO, readme_commands

STORE_RECEIPT = "data/model_store/bike_demand/deploy_receipt.json"
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MAKE_FLAGS = "--no-print-directory -o .venv/.synced-cpu EXTRA=cpu"
OVERRIDE = (
    "dvc exp run -S 'pipelines/bike_demand/params.yaml:evaluate.gate.override=true' "
    "-S 'pipelines/bike_demand/params.yaml:evaluate.gate.override_reason=hotfix: new feature schema'"
)
BACK_TO_COMMITTED = ["git restore params.yaml pipelines/ dvc.lock reports/ data/deploy/", "dvc checkout"]
# in the README's order: the gate section's override (on the committed model), back to the committed params as it
# says, then the "Change a parameter" walk-through and its way back
EXPERIMENTS = [
    "source .venv/bin/activate",
    OVERRIDE,
    *BACK_TO_COMMITTED,
    "dvc exp run -S train.epochs=2",
    "dvc metrics diff main",
    "dvc params diff main",
    "dvc exp show --only-changed",
    "dvc plots diff main",
    "dvc plots diff <exp> <exp>",
    *BACK_TO_COMMITTED,
]
STORE_AND_MONITORING = [
    "python -m tasks.store.cli list",
    "python -m tasks.store.cli show [--history]",
    "python -m tasks.store.cli config",
    "python -m tasks.store.cli clean [--older-than-min 60]",
    "python -m tasks.monitoring.window",
    "python -m tasks.monitoring.window --all",
    "python -m tasks.monitoring.window --batch new.parquet",
    "python -m tasks.monitoring.window --emit-event",
]
ORCHESTRATION = ["make prefect-server", "make flow"]
RUN_HERE = {*EXPERIMENTS, *STORE_AND_MONITORING, *ORCHESTRATION}


def with_options(command: str) -> list[str]:
    """`a [--b]`: the command without and with its optional part, as README writes optional arguments."""
    match = re.fullmatch(r"(.*?) \[(.+)\]", command)
    return [match[1], f"{match[1]} {match[2]}"] if match else [command]


def bash(command: str, workspace: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`command` as a user types it, in `workspace` (whose `.venv` is this test run's environment)."""
    return run(["bash", "-c", command], workspace, check=check, env=make_env())


def test_every_command_readme_shows_is_run_by_a_test_or_listed_why_not() -> None:
    shown = set(readme_commands())
    accounted = RUN_HERE | set(ELSEWHERE) | set(NOT_RUN)
    assert sorted(shown - accounted) == [], "README shows commands no test runs: add them to tests/readme_commands.py"
    assert sorted(accounted - shown) == [], "listed commands README no longer shows: remove them"
    for command, (path, evidence) in ELSEWHERE.items():
        assert evidence in (REPO / path).read_text(), f"{path} no longer runs {command!r} (no {evidence!r} there)"


def test_the_command_list_fails_on_a_command_nobody_runs() -> None:
    text = (
        "```bash\nmake run    # ok\nmake something-new \\\n  --flag\n```\n"
        "```bash\n$ curl -s http://x -d '{\"a\":\n  1}'\n{}\n```\n"
    )
    assert readme_commands(text) == ["make run", "make something-new --flag", "curl -s http://x -d '{\"a\": 1}'"]
    assert "make something-new --flag" not in RUN_HERE | set(ELSEWHERE) | set(NOT_RUN)


@pytest.fixture
def workspace(pipeline_copy: Path) -> Path:
    """This test's copy of the newcomer's clone, with the test run's environment as its `.venv` (git-ignored)."""
    (pipeline_copy / ".venv").symlink_to(Path(REPO / ".venv").resolve())
    return pipeline_copy


def test_the_experiment_walk_through_runs_as_written_and_restores_the_committed_run(workspace: Path) -> None:
    committed_params = (workspace / "params.yaml").read_bytes()
    out: dict[str, str] = {}
    for command in EXPERIMENTS:
        if command == "dvc plots diff <exp> <exp>":
            names = run(["dvc", "exp", "ls", "--names-only"], workspace).stdout.split()
            assert len(names) == 2, names
            command = command.replace("<exp> <exp>", " ".join(names))
        done = bash(command, workspace)
        out[command] = done.stdout + done.stderr
        if command.startswith("dvc plots diff"):  # README: the page opens offline
            page = workspace / "dvc_plots/index.html"
            assert external_loads(page) == [] and "vegaEmbed(" in page.read_text(), command
            page.unlink()

    metrics = out["dvc metrics diff main"]
    row = re.search(r"reports/evaluation/metrics\.json +model\.rmse +([\d.]+) +([\d.]+)", metrics)
    assert row and float(row[1]) < float(row[2]), metrics  # the committed run beats two epochs
    assert "train.epochs" in out["dvc params diff main"] and "150" in out["dvc params diff main"]
    assert "train.epochs" in out["dvc exp show --only-changed"]
    # the override experiment, on the committed model, found it in production; two epochs were refused
    assert "already in production" in out[OVERRIDE], out[OVERRIDE]
    assert "NOT deployed" in out["dvc exp run -S train.epochs=2"]
    # back to the committed run: params, lock, outputs. The store is production state, outside DVC: the override of
    # a model that passes the gate anyway changed nothing there, and the refused experiment left it as it was, so
    # DVC finds the store's receipt as committed and nothing to re-run
    assert (workspace / "params.yaml").read_bytes() == committed_params
    assert "Data and pipelines are up to date" in run(["dvc", "status"], workspace).stdout
    assert json.loads((workspace / STORE_RECEIPT).read_text())["production_version"] == 1
    assert sorted(p.name for p in (workspace / "data/model_store/bike_demand").iterdir() if p.name.isdigit()) == ["1"]
    again = run(["dvc", "repro"], workspace)
    assert re.findall(r"Running stage '(\w+)'", again.stdout) == [], again.stdout
    assert run(["git", "status", "--porcelain", "--", "params.yaml", "dvc.lock", "reports"], workspace).stdout == ""


def test_the_store_and_monitoring_commands_run_as_written_on_the_fresh_clone(workspace: Path) -> None:
    shutil.copy(workspace / "data/features/test.parquet", workspace / "new.parquet")  # the `--batch` example
    out: dict[str, str] = {}
    for command in STORE_AND_MONITORING:
        for variant in with_options(command):
            done = bash(variant, workspace)
            out[variant] = done.stdout + done.stderr

    assert re.search(r"^ +1 +production", out["python -m tasks.store.cli list"], re.M), out
    assert '"version": 1' in out["python -m tasks.store.cli show"]
    assert "promote" in out["python -m tasks.store.cli show --history"]
    assert 'name: "bike_demand"' in out["python -m tasks.store.cli config"]
    assert "window(s) assessed" in out["python -m tasks.monitoring.window"]
    assert "1 window(s) assessed" in out["python -m tasks.monitoring.window --batch new.parquet"]
    assert list((workspace / "reports/monitoring/windows").glob("*batch-new-*.json"))


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_make_prefect_server_and_make_flow_run_the_dag_against_that_server(workspace: Path, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        ["bash", "-c", f"make {MAKE_FLAGS} prefect-server PREFECT_PORT={port}"],
        cwd=workspace,
        env=make_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"make prefect-server did not answer: {(tmp_path / 'server.log').read_text()[-3000:]}")
        done = bash(f"make {MAKE_FLAGS} flow PREFECT_PORT={port}", workspace)
    finally:
        kill_tree(server)
        log.close()

    output = done.stdout + done.stderr
    assert "Finished in state Completed" in output, output[-3000:]
    assert "Running stage" not in output  # the clone is up to date: the flow runs each stage through DVC, which skips
    assert run(["git", "status", "--porcelain", "--", "dvc.lock"], workspace).stdout == ""

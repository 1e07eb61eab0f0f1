"""A small DAG for the orchestration tests: the project's code (flows/, tasks/, infra/) with a dvc.yaml of four
cheap stages in place of the real one, so a flow run costs seconds, not a training run.

    prepare (collect.as_of) -> train -> evaluate -> monitor

`train` is deterministic (the same inputs give the same bytes), so dvc.lock after an orchestrated run can be
compared with dvc.lock after `dvc repro`. Every stage run appends "<stage> <cwd>" to the file named by
$TRAINLINE_TEST_RUN_LOG, which says where each stage ran. Faults are files in `faults/` (untracked, ignored by DVC):
`faults/<stage>.kill` makes the stage write part of its output and SIGKILL itself once (the file is consumed);
`faults/<stage>.sleep` holds seconds the stage sleeps first.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import copy_repository

STAGES_SCRIPT = '''\
"""Stages of the orchestration tests' small DAG."""
import hashlib, json, os, signal, sys, time
from pathlib import Path

import yaml

stage = sys.argv[1]
log = os.environ.get("TRAINLINE_TEST_RUN_LOG")
if log:
    with open(log, "a") as out:
        out.write(f"{stage} {os.getcwd()}\\n")
sleep = Path(f"faults/{stage}.sleep")
if sleep.exists():
    time.sleep(float(sleep.read_text()))
params = yaml.safe_load(Path("params.yaml").read_text())


def write(path, data):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    kill = Path(f"faults/{stage}.kill")
    if kill.exists():
        kill.unlink()
        Path(path).write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    Path(path).write_bytes(data)


if stage == "prepare":
    write("data/prepared/rows.txt", f"rows before {params['collect']['as_of']}\\n".encode())
elif stage == "train":
    seed = str(params["train"]["seed"]).encode()
    data = Path("data/prepared/rows.txt").read_bytes()
    blocks = (hashlib.sha256(seed + data + i.to_bytes(2, "big")).digest() for i in range(4096))
    write("data/model/model.bin", b"".join(blocks))
elif stage == "evaluate":
    model = hashlib.sha256(Path("data/model/model.bin").read_bytes()).hexdigest()
    Path("reports/evaluation").mkdir(parents=True, exist_ok=True)
    Path("reports/evaluation/index.html").write_text(f"<!doctype html><p>model {model}</p>\\n")
    write("reports/evaluation/metrics.json", json.dumps({"model_sha256": model}).encode())
elif stage == "monitor":
    drift = {"status": "measured", "dataset_drift": True, "drift_share": 0.6, "drifted_columns": ["temp"],
             "window": {"from": params["collect"]["as_of"], "to": "2011-05-31T00:00:00"}}
    write("reports/monitoring/drift.json", json.dumps(drift).encode())
'''

DVC_YAML = {
    "stages": {
        "prepare": {
            "cmd": "python stages.py prepare",
            "deps": ["stages.py"],
            "params": ["collect.as_of"],
            "outs": ["data/prepared"],
        },
        "train": {
            "cmd": "python stages.py train",
            "deps": ["stages.py", "data/prepared"],
            "params": ["train.seed"],
            "outs": ["data/model"],
        },
        "evaluate": {
            "cmd": "python stages.py evaluate",
            "deps": ["stages.py", "data/model"],
            "outs": ["reports/evaluation/index.html"],
            "metrics": [{"reports/evaluation/metrics.json": {"cache": False}}],
        },
        "monitor": {
            "cmd": "python stages.py monitor",
            "deps": ["stages.py", "data/prepared"],
            "params": ["monitor.window_days"],
            "metrics": [{"reports/monitoring/drift.json": {"cache": False}}],
        },
    }
}

PARAMS = {
    "problem": "bike_demand",
    "collect": {"as_of": "2011-05-01"},
    "train": {"seed": 1},
    "monitor": {"window_days": 30},
    "orchestrate": {"retries": 0, "retry_delay_s": 0, "timeout_s": 120, "stages": {}, "pools": {}, "lock_wait_s": 0},
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"git {args}: {done.stderr}"
    return done.stdout


def small_dag_workspace(dest: Path, orchestrate: dict[str, Any] | None = None) -> Path:
    """A git working copy at `dest`: the project's code with the small DAG, committed, DVC initialised."""
    dest.mkdir(parents=True, exist_ok=True)
    copy_repository(dest, {})
    for leftover in ("dvc.lock", "data/.gitignore"):
        (dest / leftover).unlink(missing_ok=True)
    shutil.rmtree(dest / "data/sources", ignore_errors=True)
    (dest / "stages.py").write_text(STAGES_SCRIPT)
    (dest / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML, sort_keys=False))
    params = {**PARAMS, "orchestrate": {**PARAMS["orchestrate"], **(orchestrate or {})}}
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # The small DAG reads collect.as_of from params.yaml alone: the problem's own file must not set it too (the
    # retraining window moves the value in the file that sets it, the problem's where both do).
    own = dest / "pipelines/bike_demand/params.yaml"
    problem_params = yaml.safe_load(own.read_text())
    problem_params.get("collect", {}).pop("as_of", None)
    own.write_text(yaml.safe_dump(problem_params, sort_keys=False))
    (dest / ".dvcignore").write_text("faults/\n")
    (dest / ".gitignore").write_text((dest / ".gitignore").read_text() + "/faults/\n")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "small DAG")
    return dest


def set_orchestrate(root: Path, **values: Any) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["orchestrate"].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def fault(root: Path, stage: str, kind: str, value: str = "") -> None:
    (root / "faults").mkdir(exist_ok=True)
    (root / "faults" / f"{stage}.{kind}").write_text(value)


def lock_outs(root: Path) -> dict[str, dict[str, str]]:
    """stage -> {out path: md5} from dvc.lock."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    return {name: {o["path"]: o.get("md5") for o in entry.get("outs", [])} for name, entry in lock.items()}

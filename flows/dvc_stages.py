"""Reading the DAG from dvc.yaml and running one stage through DVC, so caching and dvc.lock stay DVC's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class StageRun:
    stage: str
    ran: bool
    output: str
    where: str = "here"  # "here", or the work pool a remote worker ran it on


class StageFailed(RuntimeError):
    """A stage exited non-zero or ran out of time; the message carries the stage's own last lines."""


def stage_order(repo: Path) -> list[str]:
    """Stage names in dvc.yaml order, which is the DAG's order (each stage only depends on earlier ones)."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return list(stages)


def repro_stage(repo: Path, stage: str, force: bool = False, timeout_s: float | None = None) -> StageRun:
    """`dvc repro --single-item <stage>` in `repo`; DVC skips it when nothing it depends on changed.

    After `timeout_s` the stage's whole process group (dvc and the stage command) is killed and StageFailed raised;
    DVC's lock dies with it, and the stage's last good outputs stay in the cache for the next attempt."""
    command = [_dvc(), "repro", "--single-item", stage]
    if force:
        command.append("--force")
    done = run_dvc_command(repo, command, timeout_s, what=f"stage '{stage}'")
    return StageRun(stage=stage, ran=f"Running stage '{stage}'" in done, output=done)


def run_dvc_command(repo: Path, command: list[str], timeout_s: float | None, what: str) -> str:
    """Run `command` in its own process group in `repo`; return its output, or raise StageFailed with its tail."""
    process = subprocess.Popen(
        command,
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_stage_environment(),
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise StageFailed(
            f"{what} ran past its timeout of {timeout_s:.0f} s and was killed:\n{_tail(output)}"
        ) from None
    if process.returncode != 0:
        how = f"killed by signal {-process.returncode}" if process.returncode < 0 else f"exit {process.returncode}"
        raise StageFailed(f"{what} failed ({how}):\n{_tail(output)}")
    return output


def lock_entry(repo: Path, stage: str) -> dict[str, Any] | None:
    """The stage's entry in `repo`/dvc.lock (its deps, params and outs with their hashes), None if absent."""
    path = repo / "dvc.lock"
    if not path.exists():
        return None
    return (yaml.safe_load(path.read_text()) or {}).get("stages", {}).get(stage)


def stage_inputs(repo: Path, stage: str) -> list[str]:
    """The cached outputs of other stages that `stage` depends on (whole outputs: a dep inside a directory output
    pulls that directory). What a remote worker must `dvc pull` before running the stage; code and params come
    with the git checkout."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc:
        stages = {s.name: s for s in dvc.index.stages if s.path_in_repo == "dvc.yaml"}
        outs = [
            str(out.def_path) for name, other in stages.items() if name != stage for out in other.outs if out.use_cache
        ]
        inputs: set[str] = set()
        for dep in stages[stage].deps:
            path = str(dep.def_path).rstrip("/")
            inputs.update(out for out in outs if path == out.rstrip("/") or path.startswith(out.rstrip("/") + "/"))
    return sorted(inputs)


def changed_stages(repo: Path) -> set[str] | None:
    """Stages `dvc status` finds changed (one call for the whole DAG); None when it cannot tell."""
    done = subprocess.run(
        [_dvc(), "status", "--json"], cwd=repo, capture_output=True, text=True, env=_stage_environment(), timeout=600
    )
    if done.returncode != 0:
        return None
    try:
        report = json.loads(done.stdout or "{}")
    except ValueError:
        return None
    return {name.rsplit(":", 1)[-1] for name in report}


def upstream_stages(repo: Path) -> dict[str, set[str]]:
    """stage -> every stage it depends on, directly or through others (from dvc.yaml's deps and outs)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc:
        stages = {s.name: s for s in dvc.index.stages if s.path_in_repo == "dvc.yaml"}
        producer = {str(out.def_path).rstrip("/"): name for name, stage in stages.items() for out in stage.outs}
        direct: dict[str, set[str]] = {}
        for name, stage in stages.items():
            direct[name] = set()
            for dep in stage.deps:
                path = str(dep.def_path).rstrip("/")
                direct[name] |= {p for out, p in producer.items() if path == out or path.startswith(out + "/")}
    closed: dict[str, set[str]] = {}

    def close(name: str) -> set[str]:
        if name not in closed:
            closed[name] = set()
            for parent in direct.get(name, set()) - {name}:
                closed[name] |= {parent} | close(parent)
        return closed[name]

    return {name: close(name) for name in direct}


def uncached_outputs(repo: Path, stage: str) -> list[str]:
    """The stage's outputs with `cache: false` (metrics, receipts): the DVC remote never carries them."""
    entry = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"][stage]
    found = []
    for out in [*entry.get("outs", []), *entry.get("metrics", []), *entry.get("plots", [])]:
        if isinstance(out, dict):
            (path, options), *_ = out.items()
            if isinstance(options, dict) and options.get("cache") is False:
                found.append(path)
    return found


def _tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


def _stage_environment() -> dict[str, str]:
    """The stages' `python` must be this interpreter (the project's venv), whatever PATH the worker started with."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _dvc() -> str:
    """The dvc next to this interpreter (the project's venv), else the one on PATH."""
    candidate = Path(sys.executable).with_name("dvc")
    return str(candidate) if candidate.exists() else "dvc"


def dvc_executable() -> str:
    return _dvc()

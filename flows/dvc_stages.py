"""Reading the DAG from dvc.yaml and running one stage through DVC, so caching and dvc.lock stay DVC's."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class StageRun:
    stage: str
    ran: bool
    output: str


class StageFailed(RuntimeError):
    """A stage exited non-zero; the message carries the stage's own last lines (its clear error, if any)."""


def stage_order(repo: Path) -> list[str]:
    """Stage names in dvc.yaml order, which is the DAG's order (each stage only depends on earlier ones)."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return list(stages)


def repro_stage(repo: Path, stage: str, force: bool = False) -> StageRun:
    """`dvc repro --single-item <stage>` in `repo`; DVC skips it when nothing it depends on changed."""
    command = [_dvc(), "repro", "--single-item", stage]
    if force:
        command.append("--force")
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=_stage_environment())
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise StageFailed(f"stage '{stage}' failed (exit {done.returncode}):\n{tail}")
    return StageRun(stage=stage, ran=f"Running stage '{stage}'" in output, output=output)


def _stage_environment() -> dict[str, str]:
    """The stages' `python` must be this interpreter (the project's venv), whatever PATH the worker started with."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _dvc() -> str:
    """The dvc next to this interpreter (the project's venv), else the one on PATH."""
    candidate = Path(sys.executable).with_name("dvc")
    return str(candidate) if candidate.exists() else "dvc"

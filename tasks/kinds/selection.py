"""What a stage runs for: the params, the selected problem and its kind, every key checked before any work.

Every stage starts with `select()`: it loads params.yaml (+ the problem's own file), loads the problem definition
named there (pipelines/), finds its kind (tasks/kinds/) and refuses any key the kind does not take, naming the file
and the key (tasks/core/params.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import load_problem
from tasks.core.params import PARAMS_FILE, Params, check_keys
from tasks.kinds import KINDS, kind_for
from tasks.kinds.contract import DataKind


@dataclass(frozen=True)
class Selection:
    params: Params
    problem: Any
    kind: DataKind


def select(path: str | Path = PARAMS_FILE) -> Selection:
    params = Params.load(path)
    problem = load_problem(params.get("problem", str))
    kind = kind_for(problem)
    check_keys(params, kind.name, {name: k.param_keys for name, k in KINDS.items()})
    return Selection(params, problem, kind)


def model_name(selection: Selection) -> str:
    """`deploy.model_name`, the problem's name unless its params say otherwise (never another problem's store)."""
    return selection.params.get("deploy.model_name", str, selection.problem.name)

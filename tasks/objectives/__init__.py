"""Objectives (regression, binary, multi-class) and what a model is scored by: metrics, the dumbest sensible
baselines, permutation importance and the figures per objective. The same for every kind of data.

May import: tasks.core, tasks.reports.

Objectives by name: what a model predicts decides how it is trained, scored, gated and served.
"""

from __future__ import annotations

from typing import Any

from tasks.core.errors import PipelineError
from tasks.objectives.classification import BINARY, MULTICLASS
from tasks.objectives.contract import Objective
from tasks.objectives.regression import REGRESSION

OBJECTIVES: dict[str, Objective] = {o.name: o for o in (REGRESSION, BINARY, MULTICLASS)}


def objective_for(spec: dict[str, Any]) -> Objective:
    """The objective of a feature spec: its task, and for classification the number of classes."""
    task = spec.get("task")
    if task == "regression":
        return REGRESSION
    if task == "classification":
        return BINARY if len(spec.get("classes") or []) == 2 else MULTICLASS
    raise PipelineError(f"data/features/spec.json: unknown task {task!r}; expected regression or classification")

"""Kinds of data as plug-ins: the contract (tasks/kinds/contract.py) and the registry of the kinds that fulfil it.

A problem definition (pipelines/) names its kind (`problem.kind`); every stage asks `kind_for(problem)` for the
hooks and never branches on the kind itself. A new kind is a module here with an object fulfilling `DataKind`,
one line in `KINDS`, and a problem class in pipelines/problem.py. selection.py reads params.yaml and loads the selected
problem with its kind: what every stage starts from.

May import: tasks.core, tasks.data, tasks.reports, tasks.checks, tasks.objectives, and pipelines/ (the definitions).
"""

from __future__ import annotations

from typing import Any

from tasks.core.errors import PipelineError
from tasks.kinds.contract import DataKind
from tasks.kinds.image import IMAGE
from tasks.kinds.series import SERIES
from tasks.kinds.table import TABLE
from tasks.kinds.text import TEXT

KINDS: dict[str, DataKind] = {TABLE.name: TABLE, IMAGE.name: IMAGE, TEXT.name: TEXT, SERIES.name: SERIES}


def kind_for(problem: Any) -> DataKind:
    """The kind of data `problem` is about; a PipelineError naming the known kinds otherwise."""
    kind = getattr(problem, "kind", None)
    if kind not in KINDS:
        raise PipelineError(
            f"problem '{getattr(problem, 'name', problem)}': kind {kind!r}; expected one of {sorted(KINDS)}"
        )
    return KINDS[kind]

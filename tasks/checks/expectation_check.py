"""One expectation evaluated over chunks: the base class every check extends, and the result it gives.

A `Check` reads its expectation's config (kwargs, severity, meta), is fed chunk after chunk (`update`) and gives an
`ExpectationResult` in GX's result vocabulary (`finish`): a failure naming the column when the column is missing, or
the first error when the values could not be compared. The supported checks: tasks/checks/expectation_types.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class ExpectationResult:
    """The outcome of one expectation, in GX's result vocabulary (observed_value, unexpected_count, ...)."""

    type: str
    kwargs: dict[str, Any]
    severity: str
    success: bool
    result: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")


class Check:
    """Accumulates one expectation over chunks; `finish()` returns its result."""

    def __init__(self, config: dict[str, Any], sample_size: int) -> None:
        self.config = config
        self.kwargs: dict[str, Any] = dict(config.get("kwargs") or {})
        self.sample_size = sample_size
        self.column: str | None = self.kwargs.get("column")
        self.missing_column = False
        self.error: str | None = None

    def update(self, chunk: pd.DataFrame) -> None:
        if self.column is not None and self.column not in chunk.columns:
            self.missing_column = True
            return
        try:
            self._update(chunk)
        except (TypeError, ValueError) as err:  # values of a kind the check cannot compare
            self.error = self.error or f"{type(err).__name__}: {err}"

    def _update(self, chunk: pd.DataFrame) -> None:
        raise NotImplementedError

    def finish(self) -> ExpectationResult:
        severity = str(self.config.get("severity") or "critical").split(".")[-1].lower()
        base = {
            "type": self.config["type"],
            "kwargs": self.kwargs,
            "severity": severity,
            "meta": self.config.get("meta") or {},
        }
        if self.missing_column:
            return ExpectationResult(**base, success=False, result={}, error=f"column '{self.column}' is missing")
        if self.error:
            return ExpectationResult(**base, success=False, result={}, error=self.error)
        success, result = self._finish()
        return ExpectationResult(**base, success=success, result=result)

    def _finish(self) -> tuple[bool, dict[str, Any]]:
        raise NotImplementedError

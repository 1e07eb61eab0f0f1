"""Evaluate a committed Great Expectations suite over a table streamed in chunks, with bounded memory.

GX 1.x validates a whole in-memory DataFrame; at 10M rows that costs several GB and minutes. This module reads the
same suite JSON (GX's own expectation types and kwargs) and evaluates it chunk by chunk, keeping only per-column
accumulators (tasks/checks/expectation_types.py, one per supported type): counts, min/max, Welford mean/variance, a
fixed-size random sample for quantiles, and 8 bytes per row for the uniqueness check. Its results
(`ExpectationResult`, tasks/checks/expectation_check.py) have the shape GX renders, so Data Docs are built by GX from
them (see `tasks/checks/data_docs.py`); `tests/data/test_validation_checks.py` checks the verdicts against GX's own
engine.

Semantics follow GX: nulls are ignored by value-range and set checks (they are counted by not-null checks); `mostly`
is the fraction of non-null values that must pass; an `object` column is type-checked value by value. Two
differences: quantiles are exact up to `SAMPLE_SIZE` rows, then estimated from a uniform random sample; and in an
`object` column a Python int/float counts as a numeric dtype, so the values reported are the non-numbers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tasks.checks.expectation_check import Check, ExpectationResult
from tasks.checks.expectation_types import CHECKS
from tasks.core.errors import PipelineError


class SuiteRun:
    """One suite evaluated over a stream of chunks: `update(chunk)` for each, then `finish()`."""

    def __init__(self, suite: dict[str, Any], sample_size: int = 5) -> None:
        self.name: str = suite["name"]
        self.suite = suite
        self.checks: list[Check] = []
        for config in suite["expectations"]:
            kind = config.get("type")
            if kind not in CHECKS:
                raise PipelineError(
                    f"suite '{self.name}': expectation type {kind!r} is not supported by the streaming validator; "
                    f"supported: {', '.join(sorted(CHECKS))}"
                )
            self.checks.append(CHECKS[kind](config, sample_size))

    def update(self, chunk: pd.DataFrame) -> None:
        for check in self.checks:
            check.update(chunk)

    def finish(self) -> list[ExpectationResult]:
        return [check.finish() for check in self.checks]


def evaluate_suite(
    suite: dict[str, Any], chunks: list[pd.DataFrame] | Any, sample_size: int = 5
) -> list[ExpectationResult]:
    """Evaluate `suite` over an iterable of DataFrame chunks (one DataFrame is one chunk)."""
    run = SuiteRun(suite, sample_size)
    for chunk in [chunks] if isinstance(chunks, pd.DataFrame) else chunks:
        run.update(chunk)
    return run.finish()

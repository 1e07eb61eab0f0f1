"""What validation found, in the words a person reads: findings, the run's outcome, its summaries.

`to_finding` turns an evaluator result (`tasks.checks.expectations` / `tasks.checks.data_checks`) into a `Finding` that
says which
expectation, on which column, expected what, observed what, with a few bad values; `ValidationOutcome` groups them
into failures (severity `critical`: the pipeline stops) and warnings (anything else: reported, the run goes on).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tasks.checks.expectation_check import ExpectationResult


@dataclass
class Finding:
    """One expectation's outcome, in the words a person reads."""

    suite: str
    expectation: str
    column: str | None
    success: bool
    severity: str
    observed: Any = None
    unexpected_count: int | None = None
    sample_bad_values: list[Any] = field(default_factory=list)
    error: str | None = None
    expected: str | None = None
    missing_columns: list[str] = field(default_factory=list)
    unexpected_columns: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        """suite, check, column, expected, observed: one row of a summary table."""
        seen = self.error or (
            f"{self.unexpected_count} bad, e.g. {self.sample_bad_values}" if self.unexpected_count else self.observed
        )
        if self.missing_columns or self.unexpected_columns:
            seen = f"missing {self.missing_columns}, unexpected {self.unexpected_columns}"
        status = "" if self.success else (" (FAILED)" if self.fails_run else " (warning)")
        return [self.suite, self.expectation + status, self.column or "(table)", self.expected or "", str(seen)]

    @property
    def fails_run(self) -> bool:
        return not self.success and self.severity == "critical"

    def describe(self) -> str:
        where = f"column '{self.column}'" if self.column else "table"
        parts = [f"{self.expectation} on {where}"]
        if self.expected:
            parts.append(f"expected {self.expected}")
        if self.missing_columns:
            parts.append(f"missing column(s) {self.missing_columns}")
        if self.unexpected_columns:
            parts.append(f"unexpected column(s) {self.unexpected_columns}")
        if self.error:
            parts.append(f"could not be evaluated: {self.error}")
        if self.unexpected_count and self.expectation != "no_duplicate_rows":  # that one's observed names the rows
            parts.append(f"{self.unexpected_count} bad value(s), e.g. {self.sample_bad_values}")
        elif self.observed is not None and not (self.missing_columns or self.unexpected_columns):
            parts.append(f"observed {self.observed!r}")
        return "; ".join(parts)


@dataclass
class ValidationOutcome:
    findings: list[Finding]

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.fails_run]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.success and not f.fails_run]

    @property
    def success(self) -> bool:
        return not self.failures

    def failures_to_report(self) -> tuple[list[Finding], dict[str, list[str]]]:
        """Failures worth a line each, and per missing column the checks that could not run because of it."""
        missing = {c for f in self.failures for c in f.missing_columns}
        listed = [f for f in self.failures if f.column is None or f.column not in missing]
        skipped: dict[str, list[str]] = {}
        for f in self.failures:
            if f.column is not None and f.column in missing:
                skipped.setdefault(f.column, []).append(f.expectation)
        return listed, skipped

    def summary(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "evaluated": len(self.findings),
            "passed": sum(f.success for f in self.findings),
            "failed": len(self.failures),
            "warned": len(self.warnings),
            "findings": [asdict(f) for f in self.findings if not f.success],
        }

    def headline(self) -> str:
        s = self.summary()
        return (
            f"{'PASSED' if s['success'] else 'FAILED'}: {s['evaluated']} checks, {s['passed']} passed, "
            f"{s['failed']} failed, {s['warned']} warned"
        )

    def sections(self) -> list[tuple[str, list[list[str]]]]:
        """(heading, rows of [suite, check, column, expected, observed]) for failures, warnings and the extra checks."""
        extra = [f for f in self.findings if f.suite == "checks"]
        groups = [("Failed (stop the pipeline)", self.failures), ("Warnings", self.warnings)]
        groups.append(("Freshness, duplicate rows and leakage", extra))
        return [(heading, [f.cells() for f in group]) for heading, group in groups if group]

    def markdown(self, title: str) -> str:
        lines = [f"# {title}", "", f"**{self.headline()}**.", ""]
        for heading, rows in self.sections():
            lines += [
                f"## {heading}",
                "",
                "| suite | check | column | expected | observed / bad values |",
                "|---|---|---|---|---|",
            ]
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
            lines.append("")
        return "\n".join(lines)


def describe_expected(expectation: str, kwargs: dict[str, Any]) -> str | None:
    """What an expectation asks for, in a few words (for messages and summaries)."""
    if "min_value" in kwargs or "max_value" in kwargs:
        what = expectation.removeprefix("expect_column_").removeprefix("expect_table_").split("_to_be")[0]
        return f"{what} between {kwargs.get('min_value')} and {kwargs.get('max_value')}"
    if "value_set" in kwargs:
        share = f"at least {kwargs['mostly']:.0%} of " if kwargs.get("mostly", 1) < 1 else ""
        return f"{share}values in {kwargs['value_set']}"
    if "type_list" in kwargs or "type_" in kwargs:
        return f"dtype in {kwargs.get('type_list') or [kwargs.get('type_')]}"
    if "column_set" in kwargs:
        return f"exactly the columns {kwargs['column_set']}"
    if "quantile_ranges" in kwargs:
        ranges = kwargs["quantile_ranges"]
        return "quantiles " + ", ".join(
            f"q{q:g} in [{lo:g}, {hi:g}]"
            for q, (lo, hi) in zip(ranges["quantiles"], ranges["value_ranges"], strict=True)
        )
    if expectation == "expect_column_values_to_not_be_null":
        return "no nulls" if kwargs.get("mostly", 1) == 1 else f"at least {kwargs['mostly']:.0%} non-null"
    if expectation == "expect_column_values_to_be_unique":
        return "unique values"
    return None


def to_finding(suite: str, result: ExpectationResult) -> Finding:
    details = result.result or {}
    extra = details.get("details") if isinstance(details.get("details"), dict) else {}
    observed = details.get("observed_value")
    mismatch = extra.get("mismatched") or {}
    return Finding(
        suite=suite,
        expectation=result.type,
        column=result.column,
        success=result.success,
        severity=result.severity,
        observed=observed,
        unexpected_count=details.get("unexpected_count"),
        sample_bad_values=list(details.get("partial_unexpected_list") or []),
        error=result.error,
        expected=describe_expected(result.type, result.kwargs) or extra.get("max_gap"),
        missing_columns=list(mismatch.get("missing") or []),
        unexpected_columns=list(mismatch.get("unexpected") or []),
    )

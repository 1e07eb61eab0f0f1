"""What every kind's own validate shares: a check's result, the summary every validation report writes (the shape
of the tabular suites' summary.json), and refusing a batch that failed (quarantine, one message naming each failure).

The image, text and time-series kinds validate with plain functions returning `Check`s (tasks/kinds/image_checks.py,
text_source.py, series_source.py); tables use Great Expectations suites (tasks/kinds/table_checks.py) and write the
same shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tasks.checks.quarantine import quarantine
from tasks.core.artifacts import QUARANTINE_DIR, RAW, VALIDATED_DIR, VALIDATION_REPORT_DIR
from tasks.core.errors import PipelineError


@dataclass(frozen=True)
class Check:
    name: str
    success: bool
    detail: str
    severity: str = "critical"


def refuse_batch(outcome: dict[str, Any], checks: list[Check], run_time: datetime) -> None:
    """Stop the pipeline on a failed validation: quarantine the raw batch with its report and raise one message
    naming every critical failure (the last validated data is left as it was)."""
    lines = [f"{RAW}: {outcome['failed']} check(s) failed; the pipeline stops before featurize:"]
    lines += [f"  - {c.name}: {c.detail}" for c in checks if not c.success and c.severity == "critical"]
    lines.append(
        f"  The last validated data in {VALIDATED_DIR}/ was left as it was. Report: {VALIDATION_REPORT_DIR}/index.html"
    )
    kept = quarantine(RAW.parent, VALIDATION_REPORT_DIR, "\n".join(lines), run_time, QUARANTINE_DIR)
    lines.append(f"  The rejected batch and its report were kept in {kept}/")
    raise PipelineError("\n".join(lines))


def summary(checks: list[Check]) -> dict[str, Any]:
    failed = [c for c in checks if not c.success and c.severity == "critical"]
    return {
        "success": not failed,
        "evaluated": len(checks),
        "passed": sum(c.success for c in checks),
        "failed": len(failed),
        "warned": sum(not c.success and c.severity != "critical" for c in checks),
        "findings": [asdict(c) for c in checks if not c.success],
        "checks": [asdict(c) for c in checks],
    }

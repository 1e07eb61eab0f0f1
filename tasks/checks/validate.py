"""validate: check data/raw with the kind's checks; only data that passes reaches data/validated.

Tables are checked against the problem's committed Great Expectations suites, streaming in chunks
(tasks/kinds/table_checks.py); images by shape, dtype, value range, label set and class balance
(tasks/kinds/image_checks.py). Either way: reports/validation/ holds the report and summary.json, a failure exits
non-zero naming each failed check, data/validated keeps the last good data and the rejected batch is quarantined
in data/quarantine/<id>/ with its report.
"""

from __future__ import annotations

from tasks.core.errors import run_stage
from tasks.kinds.selection import select


def main() -> None:
    run = select()
    run.kind.validate(run.problem, run.params)


if __name__ == "__main__":
    run_stage("validate", main)

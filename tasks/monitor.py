"""monitor: compare new data with the training data (Evidently), for any kind of data.

What "new data" and its columns are is the kind's: the source's rows in the `monitor.window_days` after
`collect.as_of` for a table with time (tasks/kinds/table_drift.py), per-image statistics for images
(tasks/kinds/image_drift.py). With no new rows the result is "no data" and the stage succeeds.
Outputs (reports/monitoring/): `drift.html` and `drift.json` (status, drift share, drifted columns, verdict),
which a Prefect automation can act on.
"""

from __future__ import annotations

import json
import logging

from tasks.artifacts import MONITORING_REPORT_DIR, read_spec, read_split
from tasks.atomic import atomic_file, write_text
from tasks.errors import run_stage
from tasks.report_banner import drift_explanation, explain_page
from tasks.reproducible import rounded, stable_ids
from tasks.selection import select

REPORT_DIR = MONITORING_REPORT_DIR
log = logging.getLogger(__name__)


def main() -> None:
    run = select()
    result = run.kind.drift(run.problem, run.params, read_split("train"), read_spec())
    # File by file (each atomic): DVC keeps its own .gitignore in this folder.
    with atomic_file(REPORT_DIR / "drift.html") as tmp:
        result.write_html(tmp)
        title, paragraphs = drift_explanation(rounded(result.summary), str(run.params.get("collect.source", str)))
        page = explain_page(stable_ids(tmp.read_text(encoding="utf-8")), title, paragraphs)  # ids: fresh UUIDs
        tmp.write_text(page, encoding="utf-8")
    write_text(REPORT_DIR / "drift.json", json.dumps(rounded(result.summary), indent=2) + "\n")
    summary = result.summary
    if summary["status"] == "no_data":
        log.info("no data to compare: %s", summary.get("reason") or summary.get("window"))
        return
    log.info(
        "drift share %.2f (threshold %.2f), dataset drift: %s; drifted: %s",
        summary["drift_share"],
        summary["drift_share_threshold"],
        summary["dataset_drift"],
        summary.get("drifted_columns", []),
    )


if __name__ == "__main__":
    run_stage("monitor", main)

"""monitor: judge new data against the training data with the monitoring loop's calibrated rule, for any kind.

What "new data" and its columns are is the kind's: the source's rows in the `monitor.window_days` after
`collect.as_of` for a table with time (tasks/kinds/table_drift.py), per-image statistics for images
(tasks/kinds/image_drift.py). The verdict is the calibrated engine's (tasks/monitoring/drift.py over
tasks/monitoring/data_drift.py, settings `monitoring.drift`, the same as `python -m tasks.monitoring.window`);
Evidently draws the distributions.
With no new rows the result is "no data" (the reason in words) and the stage succeeds.
Outputs (reports/monitoring/): `drift.html` and `drift.json` (status, what was compared with what, verdict, signals
fired, drifted columns and why), which a Prefect automation can act on.
"""

from __future__ import annotations

import json
import logging

from tasks.core.artifacts import MONITORING_REPORT_DIR, read_spec, read_split
from tasks.core.atomic import atomic_file, write_text
from tasks.core.compute import scheduler_from_params
from tasks.core.errors import run_stage
from tasks.core.reproducible import rounded, stable_ids
from tasks.kinds.selection import select
from tasks.monitoring.drift import measurer, monitor_settings
from tasks.reports.banner import compared_in_words, drift_explanation, explain_page, verdict_in_words

REPORT_DIR = MONITORING_REPORT_DIR
log = logging.getLogger(__name__)


def main() -> None:
    run = select()
    # the monitoring loop's rule and settings; the current window reduced on Dask when compute.scheduler names one
    measure = measurer(monitor_settings(run.params), scheduler_from_params(run.params))
    result = run.kind.drift(run.problem, run.params, read_split("train"), read_spec(), measure)
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
    log.info("%s: %s", compared_in_words(summary), verdict_in_words(summary))


if __name__ == "__main__":
    run_stage("monitor", main)

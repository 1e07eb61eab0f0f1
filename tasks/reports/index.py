"""report: `reports/index.html`, one page linking the validation, evaluation and drift reports, newest first.

Each entry says what the report concluded (validation passed, model blessed and its headline score, drift found)
and when it was made. Single-file reports (evaluation, drift) are also kept per run in `reports/history/<kind>/`
(git-ignored, outside DVC like the model store, the newest `report.keep` of each kind), so the index lists past
runs too. Data Docs are a folder regenerated each validation: only the current one is linked.
"""

from __future__ import annotations

import html
import json
import logging
import shutil
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.atomic import write_text
from tasks.core.errors import run_stage
from tasks.core.lineage import sha256_path
from tasks.core.params import Params
from tasks.monitoring.page import write_monitoring_index
from tasks.objectives.metrics import metric_label
from tasks.reports.banner import compared_in_words, verdict_in_words
from tasks.reports.html import page

REPORTS = Path("reports")
HISTORY = REPORTS / "history"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    kind: str  # validation | evaluation | drift
    title: str
    href: str  # relative to reports/
    created: str  # ISO 8601, UTC, when archived; empty for the current reports (index.html is byte-reproducible)
    status: str  # pass | fail | warn | info (nothing to judge, nothing to warn about)
    summary: str
    current: bool = True


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def validation_entry(reports: Path) -> Entry | None:
    """The validation summary page (it links the Data Docs), or the Data Docs themselves when there is none."""
    summary, docs = _read_json(reports / "validation/summary.json"), reports / "validation/index.html"
    page = reports / "validation/summary.html"
    target = page if page.exists() else docs
    if summary is None or not target.exists():
        return None
    text = f"{summary.get('passed', '?')} of {summary.get('evaluated', '?')} checks passed"
    if summary.get("failed"):
        text += f", {summary['failed']} failed"
    if summary.get("warned"):
        text += f", {summary['warned']} warning(s)"
    status = "pass" if summary.get("success") else "fail"
    created = summary.get("run_time") or ""
    href = f"validation/{target.name}"
    title = "Data validation" + (" (summary, links Data Docs)" if target is page else " (Data Docs)")
    return Entry("validation", title, href, created, status, text)


def training_entry(reports: Path) -> Entry | None:
    """The training history (loss and metric per epoch) with its summary."""
    summary, plot = _read_json(reports / "training/train.json"), reports / "training/history.png"
    if summary is None or not plot.exists():
        return None
    text = f"{summary.get('epochs_run', '?')} epochs, best epoch {summary.get('best_epoch', '?')}"
    scores = [
        f"{k.removeprefix('best_').replace('_', ' ')} {v:.4g}"
        for k, v in summary.items()
        if k.startswith("best_val_") and k != "best_val_loss" and isinstance(v, int | float)
    ]
    if scores:
        text += "; " + ", ".join(scores)
    return Entry("training", "Training history (loss and metric per epoch)", "training/history.png", "", "pass", text)


def evaluation_entry(reports: Path) -> Entry | None:
    record, report = _read_json(reports / "evaluation/evaluation.json"), reports / "evaluation/index.html"
    if record is None or not report.exists():
        return None
    blessing, primary = record["blessing"], record["primary_metric"]
    model = record["scores"]["model"][primary]
    verdict = (
        "blessed by override" if blessing.get("overridden") else ("blessed" if blessing["blessed"] else "NOT blessed")
    )
    champion = record["scores"].get("champion", {}).get(primary)
    versus = f" vs production {champion:.3f}" if isinstance(champion, int | float) else " (no model in production yet)"
    status = "warn" if blessing.get("overridden") else ("pass" if blessing["blessed"] else "fail")
    created = record.get("created_at") or ""
    score = f"{model:.3f}" if isinstance(model, int | float) else "n/a"
    summary = f"{verdict}; test {metric_label(primary)} {score}{versus}"
    return Entry(
        "evaluation", f"Model evaluation: {record['problem']}", "evaluation/index.html", created, status, summary
    )


def drift_entry(reports: Path) -> Entry | None:
    """The monitor stage's drift report, with what it compared with what and the calibrated verdict in words.

    "warn" only when there is something to look at: drift, or a window after collect.as_of that holds no rows. A
    problem without time has no new rows by construction: the entry says so, with no warning."""
    drift, report = _read_json(reports / "monitoring/drift.json"), reports / "monitoring/drift.html"
    if drift is None or not report.exists():
        return None
    title = "Drift monitoring (calibrated rule; Evidently's charts)"
    if drift.get("status") == "no_data":
        reason = str(drift.get("reason") or "no new rows to compare")
        status = "warn" if drift.get("window") else "info"  # an empty window is news; no time column is not
        return Entry("drift", title, "monitoring/drift.html", "", status, reason)
    summary = f"{verdict_in_words(drift)}; {compared_in_words(drift)}"
    if drift.get("dataset_drift"):  # a signal to look at, not a failure: the report says what to do
        summary += "; the report says why and what to do"
    status = "warn" if drift.get("dataset_drift") else "pass"
    return Entry("drift", title, "monitoring/drift.html", "", status, summary)


def archive(entry: Entry, reports: Path, keep: int, keep_bytes: int | None = None) -> None:
    """Copy the entry's report into history/<kind>/ once per distinct content; keep the newest `keep` copies, and
    fewer when they weigh more than `keep_bytes` together (the newest copy is always kept)."""
    source = reports / entry.href
    folder = reports / "history" / entry.kind
    folder.mkdir(parents=True, exist_ok=True)
    digest = sha256_path(source)[:12]
    if not any(p.name.endswith(f"-{digest}.html") for p in folder.glob("*.html")):
        created = entry.created or datetime.now(UTC).isoformat(timespec="seconds")  # current reports have no time
        entry = replace(entry, created=created)
        stamp = created.replace(":", "").replace("-", "").replace("+0000", "Z")
        target = folder / f"{stamp}-{digest}.html"
        shutil.copyfile(source, target)
        meta = {**asdict(entry), "href": f"history/{entry.kind}/{target.name}", "current": False}
        write_text(target.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    copies = sorted(folder.glob("*.html"), reverse=True)  # names start with the time: newest first
    kept, total = 0, 0
    for copy in copies:
        total += copy.stat().st_size
        if kept >= keep or (kept and keep_bytes is not None and total > keep_bytes):
            copy.unlink()
            copy.with_suffix(".json").unlink(missing_ok=True)
        else:
            kept += 1


def history_entries(reports: Path, current: list[Entry]) -> list[Entry]:
    """Archived runs, minus the copies of the current reports (those are listed as current)."""
    entries = []
    current_hashes = {sha256_path(reports / e.href)[:12] for e in current if (reports / e.href).is_file()}
    for meta_path in sorted((reports / "history").glob("*/*.json")):
        meta = _read_json(meta_path)
        if meta is None or not (reports / meta["href"]).exists():
            continue
        if meta_path.stem.rsplit("-", 1)[-1] in current_hashes:
            continue
        entries.append(Entry(**meta))
    return entries


BADGE = {"pass": ("pass", "✓"), "fail": ("fail", "✗"), "warn": ("warn", "!"), "info": ("muted", "–")}
STYLE = ".warn{color:#7a4b00;font-weight:600}tr.past td{background:#fafafa}th{text-align:left}"
ORDER = ("validation", "training", "evaluation", "drift")  # the pipeline's order


def _rows(entries: list[Entry], with_time: bool) -> str:
    rows = []
    for e in entries:
        cls, mark = BADGE.get(e.status, ("", "?"))
        when = f'<td class="text" style="white-space:nowrap">{html.escape(e.created)}</td>' if with_time else ""
        rows.append(
            f'<tr class="{"current" if e.current else "past"}">{when}<td class="text">{html.escape(e.kind)}</td>'
            f'<td class="text"><a href="{html.escape(e.href)}">{html.escape(e.title)}</a></td>'
            f'<td class="text {cls}">{mark} {html.escape(e.summary)}</td></tr>'
        )
    head = ("<th>archived (UTC)</th>" if with_time else "") + "<th>kind</th><th>report</th><th>conclusion</th>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# Production monitoring writes its own page outside DVC (tasks/monitoring/page.py): shown here in a frame, so this
# page stays byte-reproducible whatever this machine's monitoring history holds.
MONITORING_SECTION = (
    "<p>The trend of every signal per window of production traffic, and each window's verdict: "
    '<a href="monitoring/index.html">monitoring/index.html</a> (written by '
    "<code>make monitor</code> and the monitoring flow; empty until they have run).</p>"
    '<iframe src="monitoring/index.html" title="production monitoring" '
    'style="width:100%;height:640px;border:1px solid #ddd"></iframe>'
)


def render_index(entries: list[Entry], production: dict[str, Any] | None, history_href: str | None = None) -> str:
    """The index page: the current reports in the pipeline's order with their conclusions, what is in production,
    and a link to the earlier runs' page when there is one.

    A DVC out, so byte-reproducible: no times, nothing that depends on this machine's history of runs.
    """
    current = sorted(entries, key=lambda e: ORDER.index(e.kind) if e.kind in ORDER else len(ORDER))
    table = _rows(current, with_time=False) if current else "<p>No reports yet: run <code>dvc repro</code>.</p>"
    if history_href:
        table += (
            f'<p class="muted">Reports of earlier runs on this machine: <a href="{html.escape(history_href)}">'
            "earlier runs</a>.</p>"
        )
    if production and production.get("production_version") is not None:
        deployed = "deployed" if production.get("deployed") else "NOT deployed"
        reasons = "; ".join(production.get("reasons", []))
        status = (
            f"<p>Production: <b>{html.escape(str(production.get('model')))} version "
            f"{production['production_version']}</b>. Last deploy: {deployed}. {html.escape(reasons)}</p>"
        )
    else:
        status = "<p>Production: nothing deployed yet.</p>"
    more = (
        '<p class="muted">Plots of this and other runs: <code>dvc plots show</code> or '
        "<code>dvc plots diff main</code> (they open offline); metrics: <code>dvc metrics diff main</code>.</p>"
    )
    subtitle = "The reports of the last run of the pipeline (dvc repro), each with what it concluded."
    sections = [("Reports", table), ("Deployment", status + more), ("Production monitoring", MONITORING_SECTION)]
    body = page("Pipeline reports", sections, subtitle)
    return body.replace("</style>", STYLE + "</style>", 1)


def render_history(entries: list[Entry]) -> str:
    """reports/history/index.html: earlier runs' reports kept on this machine, newest first (outside DVC)."""
    past = sorted(entries, key=lambda e: e.created, reverse=True)
    rows = [replace(e, href=e.href.removeprefix("history/")) for e in past]
    table = _rows(rows, with_time=True) if rows else "<p>No earlier runs kept yet.</p>"
    body = page(
        "Earlier runs",
        [
            (
                "Reports of earlier runs, newest first",
                table + '<p><a href="../index.html">Back to the current reports</a></p>',
            )
        ],
        "Kept on this machine only (git-ignored, outside DVC); report.keep and report.keep_mb in params.yaml bound "
        "how many.",
    )
    return body.replace("</style>", STYLE + "</style>", 1)


def main() -> None:
    params = Params.load()
    keep = params.get("report.keep", int, 20, minimum=1)
    keep_bytes = int(params.get("report.keep_mb", (int, float), 100, minimum=0.1) * 1_000_000)
    found = (validation_entry(REPORTS), training_entry(REPORTS), evaluation_entry(REPORTS), drift_entry(REPORTS))
    current = [e for e in found if e]
    for entry in current:
        if entry.kind in ("evaluation", "drift"):  # single-file pages; Data Docs are a folder, training a PNG
            archive(entry, REPORTS, keep, keep_bytes)
    receipt = _read_json(Path("data/deploy/receipt.json"))
    past = history_entries(REPORTS, current)
    # Written on every run, empty or not, so the index (a DVC out) links it whatever this machine's history holds.
    write_text(HISTORY / "index.html", render_history(past))
    if not (REPORTS / "monitoring" / "index.html").exists():  # the index's frame shows it: never a missing page
        write_monitoring_index(REPORTS / "monitoring", pd.DataFrame())
    write_text(REPORTS / "index.html", render_index(current, receipt, "history/index.html"))
    log.info("reports/index.html: %s", ", ".join(f"{e.kind} ({e.status})" for e in current) or "no reports yet")


if __name__ == "__main__":
    run_stage("report", main)

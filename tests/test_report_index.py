"""reports/index.html: links every current report in the pipeline's order with its conclusion, byte-reproducibly;
past runs are kept and listed on reports/history/index.html."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tasks.reports.index import (
    archive,
    drift_entry,
    evaluation_entry,
    history_entries,
    render_history,
    render_index,
    training_entry,
    validation_entry,
)


def write(path: Path, text: str, mtime: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def evaluation(reports: Path, created: str, rmse: float, blessed: bool, body: str = "<html>eval</html>") -> None:
    record = {
        "problem": "bike_demand",
        "primary_metric": "rmse",
        "created_at": created,
        "scores": {"model": {"rmse": rmse}, "champion": {"rmse": 60.0}},
        "blessing": {"blessed": blessed, "overridden": False},
    }
    write(reports / "evaluation/evaluation.json", json.dumps(record))
    write(reports / "evaluation/index.html", body)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    write(reports / "validation/summary.json", json.dumps({"success": True, "evaluated": 51, "passed": 51}))
    write(reports / "validation/index.html", "<html>docs</html>", mtime=1_700_000_000)  # 2023-11-14
    evaluation(reports, "2025-06-01T10:00:00+00:00", 61.2345, blessed=False)
    drift = {
        "status": "measured",
        "current": "the 30 days after collect.as_of 2011-05-01",
        "reference": "the training split",
        "current_rows": 720,
        "reference_rows": 1950,
        "verdict": "drift",
        "dataset_drift": True,
        "signals_fired": ["data_drift"],
        "drift_share": 0.1,
        "drifted_columns": ["temp"],
    }
    write(reports / "monitoring/drift.json", json.dumps(drift))
    write(reports / "monitoring/drift.html", "<html>drift</html>", mtime=1_750_000_000)  # 2025-06-15
    summary = {"epochs_run": 40, "best_epoch": 31, "best_val_loss": 900.0, "best_val_rmse": 30.0}
    write(reports / "training/train.json", json.dumps(summary))
    write(reports / "training/history.png", "png")
    return reports


def entries(reports: Path) -> list:
    found = (validation_entry(reports), training_entry(reports), evaluation_entry(reports), drift_entry(reports))
    return [e for e in found if e]


def test_index_links_each_report_in_pipeline_order_with_its_conclusion(reports: Path) -> None:
    page = render_index(entries(reports), {"model": "m", "production_version": 3, "deployed": False})
    links = re.findall(r'<a href="([^"]+)">', page)
    # the last link is production monitoring's page (outside DVC, written by tasks/monitoring/window.py), also framed
    assert links.pop() == "monitoring/index.html"
    assert '<iframe src="monitoring/index.html"' in page
    assert links == ["validation/index.html", "training/history.png", "evaluation/index.html", "monitoring/drift.html"]
    assert "NOT blessed; test RMSE 61.234 vs production 60.000" in page
    assert "51 of 51 checks passed" in page
    assert "40 epochs, best epoch 31; val rmse 30" in page
    assert (
        "! drift (data_drift): temp; the 30 days after collect.as_of 2011-05-01 (720 rows) vs the training split "
        "(1950 rows); the report says why and what to do"
    ) in page
    assert "m version 3" in page
    assert all((reports / href).exists() for href in links)


def test_index_page_holds_no_time_so_the_same_reports_give_the_same_bytes(reports: Path) -> None:
    first = render_index(entries(reports), None)
    os.utime(reports / "monitoring/drift.html", (1_800_000_000, 1_800_000_000))
    assert render_index(entries(reports), None) == first
    assert not re.search(r"20\d\d-\d\d-\d\dT", first)


def test_missing_reports_are_left_out_not_linked(tmp_path: Path) -> None:
    assert entries(tmp_path) == []
    assert "No reports yet" in render_index([], None)


def test_each_run_is_archived_once_and_listed_as_an_earlier_run_after_a_new_one(reports: Path) -> None:
    first = evaluation_entry(reports)
    archive(first, reports, keep=5)
    archive(first, reports, keep=5)  # same content: no second copy
    assert len(list((reports / "history/evaluation").glob("*.html"))) == 1
    assert history_entries(reports, entries(reports)) == []  # the copy of the current report is not listed twice

    evaluation(reports, "2025-07-01T10:00:00+00:00", 55.0, blessed=True, body="<html>second run</html>")
    current = entries(reports)
    archive(evaluation_entry(reports), reports, keep=5)
    past = history_entries(reports, current)
    assert [(e.created, e.current) for e in past] == [("2025-06-01T10:00:00+00:00", False)]
    assert (reports / past[0].href).read_text() == "<html>eval</html>"

    page = render_index(current, None, "history/index.html")
    assert 'href="history/index.html"' in page
    history = render_history(past)
    links = re.findall(r'<a href="([^"]+)">', history)
    assert links[0].startswith("evaluation/20250601T") and (reports / "history" / links[0]).exists()
    assert links[-1] == "../index.html"


def test_archive_keeps_only_the_newest_copies(reports: Path) -> None:
    for day in range(1, 5):
        evaluation(reports, f"2025-06-0{day}T10:00:00+00:00", 60.0 + day, blessed=True, body=f"<html>{day}</html>")
        archive(evaluation_entry(reports), reports, keep=2)
    kept = sorted(p.name[:9] for p in (reports / "history/evaluation").glob("*.html"))
    assert kept == ["20250603T", "20250604T"]
    assert len(list((reports / "history/evaluation").glob("*.json"))) == 2


def test_archive_drops_the_oldest_copies_beyond_the_size_bound_but_never_the_newest(reports: Path) -> None:
    folder = reports / "history/evaluation"
    for day in range(1, 5):
        body = f"<html>{day}{'x' * 400}</html>"  # about 415 bytes each
        evaluation(reports, f"2025-06-0{day}T10:00:00+00:00", 60.0 + day, blessed=True, body=body)
        archive(evaluation_entry(reports), reports, keep=20, keep_bytes=1000)
    assert sorted(p.name[:9] for p in folder.glob("*.html")) == ["20250603T", "20250604T"]  # two fit in 1000 bytes
    evaluation(reports, "2025-06-05T10:00:00+00:00", 65.0, blessed=True, body="<html>" + "y" * 5000 + "</html>")
    archive(evaluation_entry(reports), reports, keep=20, keep_bytes=1000)
    assert [p.name[:9] for p in folder.glob("*.html")] == ["20250605T"]  # alone over the bound, kept all the same
    assert len(list(folder.glob("*.json"))) == 1


def test_validation_links_its_summary_page_when_there_is_one(reports: Path) -> None:
    summary = {"success": False, "evaluated": 60, "passed": 58, "failed": 2, "run_time": "2025-07-01T00:00:00+00:00"}
    write(reports / "validation/summary.json", json.dumps(summary))
    write(reports / "validation/summary.html", "<html>summary</html>")
    entry = validation_entry(reports)
    assert entry.href == "validation/summary.html"
    assert entry.created == "2025-07-01T00:00:00+00:00"
    assert (entry.status, entry.summary) == ("fail", "58 of 60 checks passed, 2 failed")


def test_drift_page_gets_a_title_what_it_compares_what_to_do_and_a_way_back() -> None:
    from tasks.reports.banner import drift_explanation, explain_page

    summary = {
        "status": "measured",
        "window": {"from": "2011-05-01T00:00:00", "to": "2011-05-31T00:00:00"},
        "current": "the 30 days after collect.as_of 2011-05-01",
        "reference": "the training split",
        "verdict": "drift",
        "dataset_drift": True,
        "signals_fired": ["data_drift", "adversarial"],
        "drift_share": 0.1818,
        "drifted_columns": ["temp", "hum"],
        "rule": "calibrated on 20 windows of 720 rows cut from the reference",
        "why": {"temp": "drifted: PSI 6.9 above the reference windows' spread", "hr": "no drift: PSI 0.005"},
        "adversarial": {"why": "ROC AUC 0.999 > threshold 0.929"},
        "columns_checked": 11,
        "reference_rows": 1950,
        "current_rows": 720,
    }
    title, paragraphs = drift_explanation(summary, "data/sources/bike.csv.gz")
    page = explain_page(
        "<html><head><title>plotly-logomark</title></head><body><div>x</div></body></html>", title, paragraphs
    )
    assert "<title>Drift: new data vs training data</title>" in page and "plotly-logomark" not in page
    assert (
        "Compares the 30 days after collect.as_of 2011-05-01 (720 rows) vs the training split (1950 rows) "
        "(2011-05-01T00:00:00 to 2011-05-31T00:00:00, from data/sources/bike.csv.gz)"
    ) in page
    assert "with the rule production monitoring applies: calibrated on 20 windows of 720 rows" in page
    assert "Verdict: drift (data_drift, adversarial): temp, hum." in page
    assert "temp: drifted: PSI 6.9" in page and "hr: no drift" not in page  # the why of the drifted columns
    assert "Adversarial validation: ROC AUC 0.999 &gt; threshold 0.929." in page
    assert "not this pipeline&#x27;s verdict" in page  # Evidently's own headline is named for what it is
    assert "What to do:" in page and '<a href="../index.html">' in page
    assert page.index("All reports") < page.index("<div>x</div>")


def test_drift_entry_of_a_calm_window_passes_and_says_what_was_compared(tmp_path: Path) -> None:
    drift = {
        "status": "measured",
        "current": "the 30 days after collect.as_of 2011-04-01",
        "reference": "the training split",
        "current_rows": 720,
        "reference_rows": 1950,
        "verdict": "no_drift",
        "dataset_drift": False,
        "signals_fired": [],
        "drifted_columns": [],
    }
    write(tmp_path / "monitoring/drift.json", json.dumps(drift))
    write(tmp_path / "monitoring/drift.html", "<html>drift</html>")
    entry = drift_entry(tmp_path)
    assert entry is not None and entry.status == "pass"
    assert entry.summary == (
        "no drift; the 30 days after collect.as_of 2011-04-01 (720 rows) vs the training split (1950 rows)"
    )


def test_drift_entry_of_a_table_without_time_tells_why_without_a_warning(tmp_path: Path) -> None:
    from tasks.kinds.table_drift import NO_TIME

    reason = NO_TIME.format(name="breast_cancer")
    write(tmp_path / "monitoring/drift.json", json.dumps({"status": "no_data", "reason": reason}))
    write(tmp_path / "monitoring/drift.html", "<html>drift</html>")
    entry = drift_entry(tmp_path)
    assert entry is not None and (entry.status, entry.summary) == ("info", reason)
    page = render_index([entry], None)
    assert "None" not in entry.summary and "! " not in page and "– problem &#x27;breast_cancer&#x27; has no" in page


def test_drift_entry_of_an_empty_window_warns_in_words(tmp_path: Path) -> None:
    window = {"from": "2012-01-01T00:00:00", "to": "2012-01-31T00:00:00"}
    reason = "No rows of the source fell in the 30 days after collect.as_of 2012-01-01 (2012-01-01T00:00:00 to ...)."
    write(tmp_path / "monitoring/drift.json", json.dumps({"status": "no_data", "reason": reason, "window": window}))
    write(tmp_path / "monitoring/drift.html", "<html>drift</html>")
    entry = drift_entry(tmp_path)
    assert entry is not None and (entry.status, entry.summary) == ("warn", reason)

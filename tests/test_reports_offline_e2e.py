"""Every report a real run writes opens offline, in a real browser, and shows what it is for.

After a whole `dvc repro` (bike demand) and `dvc exp run -S problem=fashion_mnist` (the image sample), each HTML page
under reports/ is read for anything it would load from the network (`src`, `href` of scripts and styles, CSS
`@import` and `url()`), then opened in headless Chromium with every network route closed: the page must make no
request, raise no script error, and show its key content (the headline table and the verdict, the drift summary
its scripts draw, the validation verdict) as a person would see it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser import external_loads, open_offline, visible_text

pytestmark = pytest.mark.e2e

REQUIRED_PAGES = {"index.html", "evaluation/index.html", "monitoring/drift.html", "validation/index.html"}


@pytest.fixture(params=["pipeline_workspace", "image_workspace"], ids=["bike_demand", "fashion_mnist"])
def run_workspace(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(request.param)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def report_pages(workspace: Path) -> list[Path]:
    reports = workspace / "reports"
    pages = sorted(reports.rglob("*.html"))
    assert {p.relative_to(reports).as_posix() for p in pages} >= REQUIRED_PAGES
    return pages


def kind_of(page: Path, reports: Path) -> str:
    relative = page.relative_to(reports).as_posix()
    if relative == "index.html":
        return "index"
    if relative == "history/index.html":
        return "history"
    if relative == "monitoring/index.html":
        return "production monitoring"
    if relative == "evaluation/index.html" or relative.startswith("history/evaluation/"):
        return "evaluation"
    if relative == "monitoring/drift.html" or relative.startswith("history/drift/"):
        return "drift"
    if relative.startswith("validation/"):
        return "validation"
    raise AssertionError(f"{relative}: a report page this test does not know; say what it must show")


def expected_content(workspace: Path, kind: str, page: Path) -> list[str]:
    """Phrases a person must see on a page of `kind`, computed from the run's own JSON outputs."""
    record = read_json(workspace / "reports/evaluation/evaluation.json")
    primary = record["primary_metric"]
    score = read_json(workspace / "reports/evaluation/metrics.json")["model"][primary]
    blessed = record["blessing"]["blessed"]
    drift = read_json(workspace / "reports/monitoring/drift.json")
    validation = read_json(workspace / "reports/validation/summary.json")
    if kind == "index":
        verdict = "blessed" if blessed else "NOT blessed"
        return ["Pipeline reports", "Data validation", "Drift monitoring", f"{verdict}; test", f"{score:.3f}"]
    if kind == "production monitoring":  # written empty by the report stage until monitoring has run
        return ["Monitoring of production", "No window has been assessed yet."]
    if kind == "history":  # the earlier runs' page (the current run's copies are listed on the index instead)
        return ["Earlier runs", "Back to the current reports"]
    if kind == "evaluation":
        # the headline table (candidate's score of this run) and the gate's verdict
        return ["Headline (test split)", f"{score:,.3f}", "BLESSED" if blessed else "NOT BLESSED"]
    if kind == "drift":
        # the calibrated verdict in the banner, and Evidently's table (drawn by its inlined scripts: absent unless
        # they ran offline), whose own headline applies the preset's rule
        from tasks.reports.banner import verdict_in_words

        return [f"Verdict: {verdict_in_words(drift)}.", "Dataset Drift is", f"out of {drift['columns_checked']})"]
    assert validation["success"], "the runs here validate good data"
    if page.name == "summary.html" or page.parent.name == "validation":
        return ["PASSED"]
    return []  # Data Docs pages of GX: checked by bootstrap-table below


def test_no_report_page_loads_anything_from_the_network(run_workspace: Path) -> None:
    found = [load for page in report_pages(run_workspace) for load in external_loads(page)]
    assert found == [], "report pages load from the network (or miss a local file):\n" + "\n".join(found)


def test_every_report_page_opens_offline_and_shows_its_key_content(run_workspace: Path) -> None:
    reports = run_workspace / "reports"
    problems: list[str] = []
    for page in report_pages(run_workspace):
        name, kind = page.relative_to(reports).as_posix(), kind_of(page, reports)
        view = open_offline(page)
        text = visible_text(view.dom)
        if view.requests:
            problems.append(f"{name}: reached for the network: {view.requests}")
        if view.script_errors:
            problems.append(f"{name}: script errors: {view.script_errors}")
        missing = [phrase for phrase in expected_content(run_workspace, kind, page) if phrase not in text]
        if missing:
            problems.append(f"{name}: does not show {missing}; it shows: {text[:400]!r}")
        if "/validations/" in name and 'class="bootstrap-table' not in view.dom:
            problems.append(f"{name}: the Data Docs scripts did not run (no bootstrap-table)")
    assert problems == [], "\n".join(problems)

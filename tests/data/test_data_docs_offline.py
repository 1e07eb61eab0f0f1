"""Data Docs open offline: every stylesheet, script and image a page loads is a file beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pipelines import load_problem
from tasks.checks.data_docs import ASSETS, CDN_FILES
from tasks.kinds.table_checks import ValidateSettings, validate
from tasks.kinds.table_source import select_before
from tests.browser import open_offline

PROBLEM = load_problem("bike_demand")
ASSET = re.compile(r"""<(?:link|script|img)\b[^>]*?\b(?:href|src)=["']([^"']+)["']""", re.IGNORECASE)
CSS_URL = re.compile(r"url\(([^)]+)\)")


@pytest.fixture(scope="module")
def docs(bike_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data Docs of a failing run (so the pages show failed expectations with sample values)."""
    work = tmp_path_factory.mktemp("docs")
    frame = select_before(bike_frame, PROBLEM, pd.Timestamp("2011-05-01"))
    frame.loc[3, "temp"] = 1.4
    frame = frame.drop(columns="windspeed")  # checks that cannot run must render too
    raw = work / "raw" / "data.parquet"
    raw.parent.mkdir()
    frame.to_parquet(raw, index=False)
    with pytest.MonkeyPatch.context() as patch:
        warnings: list[str] = []
        patch.setattr("tasks.checks.data_docs.log.warning", lambda *args: warnings.append(args[0] % args[1:]))
        with pytest.raises(Exception, match="expect_column_values_to_be_between on column 'temp'"):
            validate(PROBLEM, ValidateSettings(), raw, work / "validated", work / "report")
    assert warnings == [], "GX could not render every page"
    return work / "report"


def test_pages_load_nothing_from_the_network(docs: Path) -> None:
    pages = sorted(docs.rglob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "raw.html", "features.html", "summary.html"}
    assert len(pages) == 6  # index, two suite pages, two validation results, the run summary
    for page in pages:
        for target in ASSET.findall(page.read_text(encoding="utf-8")):
            assert not target.startswith(("http:", "https:", "//")), f"{page.name} loads {target}"
            assert (page.parent / target.split("?")[0]).resolve().is_file(), f"{page.name}: {target} is missing"


def test_failed_and_unevaluable_checks_are_on_the_page(docs: Path) -> None:
    page = next((docs / "validations").rglob("*raw.html")).read_text(encoding="utf-8")
    assert "column &#39;windspeed&#39; is missing" in page or "column 'windspeed' is missing" in page
    assert "1.4" in page  # the sample bad value of temp


def test_run_summary_page_shows_the_checks_gx_cannot_render(docs: Path) -> None:
    summary = (docs / "summary.html").read_text(encoding="utf-8")
    assert "FAILED: " in summary and "Freshness, duplicate rows and leakage" in summary
    assert "no_target_leakage" in summary and "casual + registered == bikers (declared leakage" in summary
    assert 'href="summary.html"' in (docs / "index.html").read_text(encoding="utf-8")


def test_vendored_css_finds_its_fonts(docs: Path) -> None:
    css = docs / "static" / "vendor" / "fontawesome" / "css" / "all.min.css"
    woff2 = [u.strip("'\"") for u in CSS_URL.findall(css.read_text()) if ".woff2" in u]
    assert woff2
    for url in woff2:
        assert (css.parent / url).resolve().is_file(), url


def test_every_cdn_file_gx_uses_is_vendored() -> None:
    for local in set(CDN_FILES.values()):
        assert (ASSETS / local).is_file(), local
    templates = Path(__import__("great_expectations").__file__).parent / "render" / "view" / "templates"
    used = set(
        re.findall(
            r"""(?:href|src)=["'](https://[^"']+)["']""", "".join(p.read_text() for p in templates.rglob("*.j2"))
        )
    )
    assets = {u for u in used if re.search(r"\.(css|js)$|cdn\.jsdelivr\.net/npm/", u)}
    assert assets <= set(CDN_FILES), sorted(assets - set(CDN_FILES))


def test_headless_browser_runs_the_vendored_scripts_offline(docs: Path) -> None:
    page = next((docs / "validations").rglob("*raw.html"))
    view = open_offline(page, budget_ms=5000)
    assert view.requests == [], f"{page.name} reached for the network: {view.requests}"
    assert view.script_errors == [], view.script_errors
    # bootstrap-table (which needs jQuery and Bootstrap's JS) wraps each table when it runs
    assert 'class="bootstrap-table' in view.dom
    assert "expect_column_values_to_be_between" in view.dom or "values must be greater than" in view.dom

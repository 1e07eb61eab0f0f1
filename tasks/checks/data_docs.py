"""Great Expectations Data Docs for a validation run, made to open offline.

GX renders the pages (index, one page per suite, one per validation result) from the results of
`tasks.checks.expectations`. Its HTML loads Bootstrap, Font Awesome, jQuery, bootstrap-table and vega from CDNs, so an
offline browser shows an unstyled page: `make_offline` copies the vendored files (`tasks/reports/assets/`, see its
README for versions and licences) into `<docs>/static/vendor/` and rewrites every CDN link to a relative path.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tasks.checks.expectation_check import ExpectationResult
from tasks.core.reproducible import stable_ids
from tasks.reports.html import ASSETS

log = logging.getLogger(__name__)
VENDOR = Path("static/vendor")

# CDN URL (as GX 1.24's templates write it) -> vendored file under static/vendor/
CDN_FILES: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-prefers-dark.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-filter-control.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed.min.js",
}
# GX's navbar logo comes from its S3 bucket; the same image ships in the site's static/images/
_GX_WEB_IMAGE = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/([\w.-]+\.png)(\?[^\"']*)?"
)
# GX writes some links to its static/ folder with one "../" too few on validation pages (the favicon)
_STATIC_LINK = re.compile(r"""((?:href|src)=["'])((?:\.\./|\./)*static/[^"']+)(["'])""")
_EXTERNAL_ASSET = re.compile(
    r"""(?:href|src)=["'](https?://[^"']+\.(?:css|js|png|svg|gif)(?:\?[^"']*)?|https?://cdn\.jsdelivr\.net/npm/[^"']+)["']"""
)
# Subresource integrity with crossorigin="anonymous" makes a browser fetch the file in CORS mode, which file:// pages
# cannot: Chromium then refuses to run the vendored Bootstrap and Popper (seen as "$(...).modal is not a function").
_SCRIPT_OR_LINK = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_SRI_ATTRIBUTE = re.compile(
    r"""\s+(?:integrity\s*=\s*("[^"]*"|'[^']*')|crossorigin(?:\s*=\s*("[^"]*"|'[^']*'))?)""", re.IGNORECASE
)


def write_summary_page(docs_dir: Path, title: str, headline: str, sections: list[tuple[str, list[list[str]]]]) -> None:
    """`summary.html`: failures, warnings and the checks GX cannot render, styled by the vendored Bootstrap, and a
    link to it at the top of GX's index page."""
    alert = "alert-danger" if headline.startswith("FAILED") else "alert-success"
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f'<link rel="stylesheet" href="{VENDOR.as_posix()}/bootstrap.min.css"></head>',
        '<body class="container-fluid p-4"><p><a href="../index.html">&larr; All reports</a> · '
        '<a href="index.html">Data Docs</a></p>',
        f'<h1 class="h3">{html.escape(title)}</h1>',
        f'<p class="alert {alert}">{html.escape(headline)}</p>',
    ]
    for heading, rows in sections:
        parts.append(f'<h2 class="h5 mt-4">{html.escape(heading)}</h2><table class="table table-sm table-bordered">')
        parts.append(
            "<thead><tr><th>suite</th><th>check</th><th>column</th><th>expected</th><th>observed / bad values</th>"
        )
        parts.append("</tr></thead><tbody>")
        for row in rows:
            style = (
                ' class="table-danger"'
                if "(FAILED)" in row[1]
                else ' class="table-warning"'
                if "(warning)" in row[1]
                else ""
            )
            parts.append(f"<tr{style}>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    (docs_dir / "summary.html").write_text("\n".join(parts), encoding="utf-8")
    index = docs_dir / "index.html"
    if index.exists():
        banner = (
            '<div class="alert alert-info m-2"><a href="../index.html">&larr; All reports</a> · '
            f'<a href="summary.html">Run summary</a>: {html.escape(headline)} '
            "(with the freshness, duplicate-row and leakage checks)</div>"
        )
        page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, index.read_text(encoding="utf-8"), count=1)
        index.write_text(page, encoding="utf-8")


def make_offline(docs_dir: Path) -> list[str]:
    """Vendor the CDN assets into `docs_dir` and point every page at them; return CDN links left unresolved."""
    shutil.copytree(ASSETS, docs_dir / VENDOR, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    unresolved: set[str] = set()
    for page in docs_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        prefix = os.path.relpath(docs_dir / VENDOR, page.parent)
        for url, local in CDN_FILES.items():
            html = html.replace(f'"{url}"', f'"{prefix}/{local}"')
        static = os.path.relpath(docs_dir / "static", page.parent)
        html = _STATIC_LINK.sub(
            lambda m, static=static: f"{m.group(1)}{static}/{m.group(2).split('static/', 1)[1]}{m.group(3)}", html
        )
        images = os.path.relpath(docs_dir / "static" / "images", page.parent)
        html = _GX_WEB_IMAGE.sub(lambda m, images=images: f"{images}/{m.group(1)}", html)
        html = _SCRIPT_OR_LINK.sub(lambda m: _SRI_ATTRIBUTE.sub("", m.group(0)), html)
        unresolved |= set(_EXTERNAL_ASSET.findall(html))
        page.write_text(html, encoding="utf-8")
    return sorted(unresolved)


@contextlib.contextmanager
def _gx_render_errors() -> Iterator[list[str]]:
    """Collect the errors GX's site builder logs (with tracebacks) instead of letting them reach the console."""
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage())

    builder = logging.getLogger("great_expectations.render.renderer.site_builder")
    handler, propagate = Collect(logging.ERROR), builder.propagate
    builder.addHandler(handler)
    builder.propagate = False
    try:
        yield errors
    finally:
        builder.removeHandler(handler)
        builder.propagate = propagate


def _gx_result(result: ExpectationResult) -> Any:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    config = ExpectationConfiguration(
        type=result.type, kwargs=result.kwargs, meta=result.meta, severity=result.severity
    )
    # GX renders the "traceback" as text: give it the message (there is no traceback: the check itself reported it)
    exception = {
        "raised_exception": bool(result.error),
        "exception_message": result.error,
        "exception_traceback": result.error,
    }
    return ExpectationValidationResult(
        success=result.success, expectation_config=config, result=result.result, exception_info=exception
    )


def build_data_docs(
    docs_dir: Path, runs: list[tuple[dict[str, Any], list[ExpectationResult]]], run_name: str, run_time: datetime
) -> None:
    """Render GX Data Docs for each (suite JSON, results) pair into `docs_dir`, then make them work offline."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)  # e.g. "Created temporary directory"
    import great_expectations as gx
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    # this module sets itself to INFO on import and announces every temporary directory
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.data_docs_sites = {}
    context.add_data_docs_site(
        site_name="reports",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    for suite, results in runs:
        gx_suite = gx.ExpectationSuite(
            name=suite["name"], expectations=suite["expectations"], meta=suite.get("meta") or {}
        )
        context.suites.add(gx_suite)
        passed = sum(r.success for r in results)
        validation = ExpectationSuiteValidationResult(
            success=all(r.success or r.severity != "critical" for r in results),
            results=[_gx_result(r) for r in results],
            suite_name=suite["name"],
            statistics={
                "evaluated_expectations": len(results),
                "successful_expectations": passed,
                "unsuccessful_expectations": len(results) - passed,
                "success_percent": 100.0 * passed / len(results) if results else 100.0,
            },
            meta={
                "run_id": run_id.to_json_dict(),
                "active_batch_definition": {
                    "datasource_name": "pipeline",
                    "data_asset_name": suite["name"],
                    "batch_definition_name": "collected batch",
                },
            },
        )
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite["name"]), run_id, suite["name"])
        context.validation_results_store.set(key, validation)
    with _gx_render_errors() as errors:
        context.build_data_docs(site_names=["reports"])
    if errors:  # GX logs a whole traceback per page and carries on; one line is enough, the summaries are complete
        first = errors[0].split("Traceback", 1)[0].strip().splitlines()[-1][:300]
        log.warning("Data Docs: GX could not render part of %d page(s): %s", len(errors), first)
    for html_page in docs_dir.rglob("*.html"):  # GX gives collapsible blocks a fresh uuid4 per build
        html_page.write_text(stable_ids(html_page.read_text(encoding="utf-8")), encoding="utf-8")
    unresolved = make_offline(docs_dir)
    if unresolved:  # a GX upgrade added a CDN asset: the page would silently lose styling offline
        raise RuntimeError(f"Data Docs still load from the network: {unresolved}; vendor them in {ASSETS}")

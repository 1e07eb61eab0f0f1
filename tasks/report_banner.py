"""A page a library wrote (Evidently's drift report) made to explain itself: a proper title, what it compares with
what, what a reader can do next, and a link back to the index of reports."""

from __future__ import annotations

import html
import re
from typing import Any

STYLE = (
    "font-family:system-ui,sans-serif;max-width:72rem;margin:1rem auto;padding:.8rem 1rem;"
    "border:1px solid #ddd;border-radius:6px;background:#fafafa;line-height:1.45"
)


def explain_page(page: str, title: str, paragraphs: list[str], back_href: str = "../index.html") -> str:
    """`page` with its <title> replaced by `title` and a banner (title, `paragraphs` as plain text, a link back to
    the index) first in its body. Paragraphs are escaped: they are text, not HTML."""
    escaped = html.escape(title)
    if re.search(r"<title>.*?</title>", page, flags=re.S):
        page = re.sub(r"<title>.*?</title>", lambda _: f"<title>{escaped}</title>", page, count=1, flags=re.S)
    else:
        page = page.replace("<head>", f"<head><title>{escaped}</title>", 1)
    body = "".join(f"<p style='margin:.3rem 0'>{html.escape(p)}</p>" for p in paragraphs)
    banner = (
        f'<div style="{STYLE}"><p style="margin:0 0 .4rem"><a href="{html.escape(back_href)}">&larr; All reports</a>'
        f"</p><h1 style='font-size:1.4rem;margin:.2rem 0'>{escaped}</h1>{body}</div>"
    )
    return re.sub(r"<body[^>]*>", lambda m: m.group(0) + banner, page, count=1)


def drift_explanation(summary: dict[str, Any], source: str) -> tuple[str, list[str]]:
    """Title and paragraphs for drift.html from drift.json's summary: what was compared, the verdict, what to do."""
    window = summary.get("window") or {}
    period = f"{window.get('from', '?')} to {window.get('to', '?')}"
    if summary.get("status") == "no_data":
        return "Drift: no new data", [
            f"No rows of {source} fell in {period}, the window after collect.as_of: nothing to compare.",
            "Move collect.as_of or monitor.window_days (params.yaml) to a period that has data.",
        ]
    share, threshold = summary.get("drift_share", 0.0), summary.get("drift_share_threshold", 0.5)
    drifted = summary.get("drifted_columns") or []
    paragraphs = [
        f"Compares the new data, {summary.get('current_rows', '?')} rows of {source} from {period}, with the "
        f"training split ({summary.get('reference_rows', '?')} rows), column by column "
        f"({summary.get('columns_checked', '?')} columns).",
        f"Verdict: {'dataset drift' if summary.get('dataset_drift') else 'no dataset drift'}: "
        f"{share:.0%} of the columns drifted (threshold {threshold:.0%})"
        + (f": {', '.join(drifted)}." if drifted else "."),
    ]
    if summary.get("dataset_drift"):
        paragraphs.append(
            "What to do: drift alone is not a failure; new data from another period (a new season, say) often "
            "differ from the training data. It matters when the model's error on the new data grows. Look at the "
            "drifted columns below, then retrain on data that includes the new period, for example "
            "`dvc exp run -S collect.as_of=<a later date>`, and let the gate compare it with production."
        )
    return "Drift: new data vs training data", paragraphs

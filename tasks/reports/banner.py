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


def compared_in_words(summary: dict[str, Any]) -> str:
    """What drift.json's verdict compared with what, in words: "the 30 days after collect.as_of 2011-05-01 (720 rows)
    vs the training split (1950 rows)"."""
    current = summary.get("current") or "the new data"
    reference = summary.get("reference") or "the training data"
    current_rows, reference_rows = summary.get("current_rows", "?"), summary.get("reference_rows", "?")
    return f"{current} ({current_rows} rows) vs {reference} ({reference_rows} rows)"


def verdict_in_words(summary: dict[str, Any]) -> str:
    """drift.json's calibrated verdict in one phrase: "drift (data_drift, adversarial): temp, hum" or "no drift"."""
    if summary.get("status") == "no_data":
        return "nothing to compare"
    if not summary.get("dataset_drift"):
        return "no drift"
    fired = ", ".join(summary.get("signals_fired") or [])
    drifted = ", ".join(summary.get("drifted_columns") or [])
    return "drift" + (f" ({fired})" if fired else "") + (f": {drifted}" if drifted else "")


def drift_explanation(summary: dict[str, Any], source: str) -> tuple[str, list[str]]:
    """Title and paragraphs for drift.html from drift.json's summary: what was compared, the verdict and why, what to
    do."""
    if summary.get("status") == "no_data":
        return "Drift: no new data", [
            str(summary.get("reason") or "No new rows to compare."),
            "Move collect.as_of or monitor.window_days (params.yaml) to a period that has data."
            if summary.get("window")
            else "Nothing to do here: the monitor stage has no new rows to judge for this problem.",
        ]
    window = summary.get("window") or {}
    period = f" ({window['from']} to {window['to']}, from {source})" if window else ""
    paragraphs = [
        f"Compares {compared_in_words(summary)}{period}, column by column ({summary.get('columns_checked', '?')} "
        "columns), with the rule production monitoring applies: " + str(summary.get("rule", "")) + ".",
        f"Verdict: {verdict_in_words(summary)}.",
    ]
    why = summary.get("why") or {}
    paragraphs += [
        f"{column}: {text}" for column, text in why.items() if column in (summary.get("drifted_columns") or [])
    ]
    adversarial = (summary.get("adversarial") or {}).get("why")
    if adversarial:
        paragraphs.append(f"Adversarial validation: {adversarial}.")
    if summary.get("dataset_drift"):
        paragraphs.append(
            "What to do: drift alone is not a failure; new data from another period (a new season, say) often "
            "differ from the training data. It matters when the model's error on the new data grows. Look at the "
            "drifted columns below, then retrain on data that includes the new period, for example "
            "`dvc exp run -S collect.as_of=<a later date>`, and let the gate compare it with production."
        )
    paragraphs.append(
        "Below: Evidently's view of each column's distributions. Its own headline ('Dataset Drift is detected' or "
        "not) applies the preset's uncalibrated rule (half of the columns past a fixed p-value): it is not this "
        "pipeline's verdict, which is the one above."
    )
    return "Drift: new data vs training data", paragraphs

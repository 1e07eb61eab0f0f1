"""Self-contained HTML reports: inline CSS, figures embedded as base64 PNG, no network needed to open them."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# Vendored scripts and styles (Vega for plots, Data Docs' own: tasks/checks/data_docs.py), so pages open offline.
ASSETS = Path(__file__).parent / "assets"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.35rem .7rem;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child,td.text,th.text{text-align:left}
.pass{color:#11702b;font-weight:600}.fail{color:#b00020;font-weight:600}.muted{color:#666;font-size:.9rem}
img{max-width:100%;border:1px solid #eee}
"""


def figure_to_data_uri(figure: Any) -> str:
    """Render a matplotlib figure to a PNG data URI and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "", row_classes: Sequence[str] | None = None
) -> str:
    """An HTML table. A cell with an `__html__()` method renders its own `<td>`; others are escaped text.

    `row_classes`, when given, sets a class on each body row (in order; "" for none)."""
    rows = [list(row) for row in rows]
    # a header sits over its column's content: left over words, right over numbers (judged by the first row)
    texts = [isinstance(v, str) for v in rows[0]] if rows else [True] * len(headers)
    head = "".join(
        f'<th class="text">{html.escape(str(h))}</th>'
        if i < len(texts) and texts[i]
        else f"<th>{html.escape(str(h))}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for i, row in enumerate(rows):
        css = row_classes[i] if row_classes and row_classes[i] else ""
        cells = "".join(_td(v) for v in row)
        body.append((f'<tr class="{css}">' if css else "<tr>") + cells + "</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _td(value: Any) -> str:
    if hasattr(value, "__html__"):
        return value.__html__()
    if isinstance(value, str):  # words read from the left; numbers line up on the right
        return f'<td class="text">{_cell(value)}</td>'
    return f"<td>{_cell(value)}</td>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    return html.escape(str(value))


def page(title: str, sections: Sequence[tuple[str, str]], subtitle: str = "", back_href: str | None = None) -> str:
    """A whole HTML document; each section is (heading, already-safe HTML body); `back_href` links the page back to
    the reports' index (relative to the page)."""
    parts = [f"<h2>{html.escape(h)}</h2>\n{body}" for h, body in sections]
    back = f'<p class="muted"><a href="{html.escape(back_href)}">&larr; All reports</a></p>' if back_href else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{back}"
        f'<h1>{html.escape(title)}</h1><p class="muted">{html.escape(subtitle)}</p>'
        + "\n".join(parts)
        + "</body></html>\n"
    )

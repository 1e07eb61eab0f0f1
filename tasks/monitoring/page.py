"""Monitoring's pages (offline: inline CSS and SVG, nothing loaded from the network).

- `windows/<model>-v<version>-<window id>.html`: one window's verdict: which signals fired and why, every column's
  scores against its thresholds, prediction drift, performance against the model's test-time figures.
- `index.html`: a trend per signal (score per window with its threshold; windows that fired in red) and the list
  of windows with links. reports/index.html shows this page (tasks/reports/index.py).
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.atomic import write_text
from tasks.monitoring.history import WINDOWS_DIR, window_stem
from tasks.monitoring.window_evidently import EVIDENTLY_SUFFIX
from tasks.reports.html import page, table

SIGNAL_TITLES = {
    "data_drift": "Data drift (weighted share of drifted input columns)",
    "adversarial": "Adversarial validation (ROC AUC of a classifier telling the window from the training data)",
    "prediction_drift": "Prediction drift (the model's outputs against its outputs on the training data)",
    "performance": "Performance (the task's first metric on the window's rows with ground truth; red: any metric past "
    "its floor, the window's page says which)",
}


def _verdict_line(verdict: dict[str, Any]) -> str:
    fired = verdict["signals_fired"]
    css = "fail" if verdict["verdict"] == "drift" else "pass"
    words = f"drift: {', '.join(fired)} fired" if fired else "no drift: no signal fired"
    return f'<p class="{css}">{html.escape(words)}</p>'


def _columns_table(data: dict[str, Any]) -> str:
    columns = data.get("columns") or {}
    if not columns:
        return "<p>No column was compared.</p>"
    keys = sorted({k for c in columns.values() for k, v in c.items() if isinstance(v, int | float | bool | str)})
    keys = [k for k in keys if k not in {"drifted", "why"}]
    rows, classes = [], []
    for name, column in columns.items():
        rows.append(
            [
                name,
                "yes" if column.get("drifted") else "no",
                *[_plain(column.get(k)) for k in keys],
                str(column.get("why", "")),
            ]
        )
        classes.append("fail" if column.get("drifted") else "")
    return table(["column", "drifted", *keys, "why"], rows, row_classes=classes)


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _mapping_table(values: dict[str, Any]) -> str:
    rows = [[k, _plain(v) if not isinstance(v, dict | list) else str(v)] for k, v in values.items()]
    return table(["", "value"], rows) if rows else "<p>Nothing measured.</p>"


def _evidently_link(verdict: dict[str, Any]) -> str:
    if not verdict.get("evidently_report"):
        return ""
    href = html.escape(str(verdict["evidently_report"]).rsplit("/", 1)[-1])
    return f'<p><a href="{href}">Evidently\'s drift report of this window (distributions per column)</a></p>'


def window_page(verdict: dict[str, Any]) -> str:
    """One window's report (deterministic: the same verdict gives the same bytes)."""
    window = verdict["window"]
    refused = verdict.get("refused_rows", 0)  # verdicts written before the server logged refusals have none
    subtitle = (
        f"model {verdict['model']} version {verdict['version']}; window {window['from']} .. {window['to']} "
        f"({verdict['rows']} rows, {verdict['labelled_rows']} with ground truth"
        + (f", {refused} refused by the server (in data drift, not in prediction drift)" if refused else "")
        + "); reference: the version's "
        f"training data ({verdict['reference']['rows']} rows, from {verdict['reference']['found_at']})"
    )
    signals = [
        [name, "yes" if s["fired"] else "no", _plain(s.get("score")), _plain(s.get("threshold")), s.get("why", "")]
        for name, s in verdict["signals"].items()
    ]
    data = verdict.get("data_drift") or {}
    sections = [
        (
            "Verdict",
            _verdict_line(verdict)
            + table(["signal", "fired", "score", "threshold", "why"], signals)
            + _evidently_link(verdict)
            + '<p class="muted"><a href="../index.html">Every window, with the trend per signal</a></p>',
        ),
        ("Data drift per column", _columns_table(data)),
        ("Adversarial validation", _mapping_table(data.get("adversarial") or {})),
        ("Prediction drift", _mapping_table(verdict.get("prediction_drift") or {})),
        ("Performance", _mapping_table(verdict.get("performance") or {})),
    ]
    return page(f"Monitoring: {verdict['model']} v{verdict['version']}, window {window['id']}", sections, subtitle)


def write_window_page(out_dir: Path, verdict: dict[str, Any]) -> Path:
    stem = window_stem(verdict["model"], verdict["version"], verdict["window"]["id"])
    path = out_dir / WINDOWS_DIR / f"{stem}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = window_page(verdict)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)
    return path


def trend_svg(points: pd.DataFrame, width: int = 720, height: int = 180) -> str:
    """A line of `score` per window (in order) with the `threshold` dashed; fired windows as red dots."""
    scores = points["score"].astype(float).tolist()
    thresholds = [t for t in points["threshold"].tolist() if t is not None and not pd.isna(t)]
    values = [v for v in scores + [float(t) for t in thresholds] if math.isfinite(v)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    pad_l, pad_r, pad_t, pad_b = 56, 12, 10, 24
    n = len(scores)

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - (v - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" stroke="#999"/>',
        f'<text x="4" y="{pad_t + 8}" font-size="11">{high:.3g}</text>',
        f'<text x="4" y="{height - pad_b}" font-size="11">{low:.3g}</text>',
    ]
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(scores) if math.isfinite(v))
    parts.append(f'<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{line}"/>')
    threshold_line = [
        f"{x(i):.1f},{y(float(t)):.1f}"
        for i, t in enumerate(points["threshold"].tolist())
        if t is not None and not pd.isna(t)
    ]
    if threshold_line:
        parts.append(
            f'<polyline fill="none" stroke="#b00020" stroke-dasharray="5,4" points="{" ".join(threshold_line)}"/>'
        )
    for i, (v, fired, label) in enumerate(zip(scores, points["fired"], points["window_id"], strict=True)):
        if math.isfinite(v):
            colour = "#b00020" if fired else "#1f5fa8"
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}"><title>{html.escape(str(label))}: '
                f"{v:.4g}</title></circle>"
            )
    parts.append(f'<text x="{pad_l}" y="{height - 6}" font-size="11">{n} window(s), oldest left</text></svg>')
    return "".join(parts)


def monitoring_index(history: pd.DataFrame, evidently: frozenset[str] = frozenset()) -> str:
    """reports/monitoring/index.html: a trend per model version and signal, then every window with its link (and
    the link to its Evidently page where `evidently`, the pages' file names, has one)."""
    if history.empty:
        return page(
            "Monitoring of production",
            [("Windows", "<p>No window has been assessed yet.</p>")],
            "python -m tasks.monitoring.window assesses the prediction log's windows",
        )
    sections = []
    for (model, version), rows in history.groupby(["model", "version"], sort=True):
        for signal, points in rows.groupby("signal", sort=False):
            title = f"{model} v{version}: {SIGNAL_TITLES.get(str(signal), str(signal))}"
            sections.append((title, trend_svg(points.reset_index(drop=True))))
    windows = history.drop_duplicates(KEY_COLUMNS)
    links = []
    for row in windows.itertuples(index=False):
        href = f"{WINDOWS_DIR}/{window_stem(row.model, int(row.version), row.window_id)}.html"
        fired = sorted(
            history[(history["window_id"] == row.window_id) & (history["version"] == row.version) & history["fired"]][
                "signal"
            ].tolist()
        )
        name = f"{window_stem(row.model, int(row.version), row.window_id)}{EVIDENTLY_SUFFIX}"
        links.append(_LinkRow(row, href, fired, f"{WINDOWS_DIR}/{name}" if name in evidently else ""))
    body = table(
        [*WINDOW_COLUMNS, "Evidently"],
        [link.cells() for link in links],
        row_classes=["fail" if link.fired else "" for link in links],
    )
    sections.append(("Windows", body))
    return page("Monitoring of production", sections, "score per window (dashed: threshold; red: the signal fired)")


KEY_COLUMNS = ["model", "version", "window_id"]
WINDOW_COLUMNS = ["window", "model", "version", "from", "to", "rows", "with ground truth", "verdict", "signals fired"]


class _LinkRow:
    def __init__(self, row: Any, href: str, fired: list[str], evidently: str = "") -> None:
        self.row, self.href, self.fired, self.evidently = row, href, fired, evidently

    def cells(self) -> list[Any]:
        link = _Html(f'<td class="text"><a href="{html.escape(self.href)}">{html.escape(self.row.window_id)}</a></td>')
        r = self.row
        return [
            link,
            r.model,
            str(r.version),
            r.window_from,
            r.window_to,
            int(r.rows),
            int(r.labelled_rows),
            r.verdict,
            ", ".join(self.fired) or "none",
            _Html(f'<td class="text"><a href="{html.escape(self.evidently)}">distributions</a></td>')
            if self.evidently
            else "",
        ]


class _Html:
    def __init__(self, text: str) -> None:
        self.text = text

    def __html__(self) -> str:
        return self.text


def write_monitoring_index(out_dir: Path, history: pd.DataFrame) -> Path:
    path = out_dir / "index.html"
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = out_dir / WINDOWS_DIR
    evidently = frozenset(p.name for p in pages.glob(f"*{EVIDENTLY_SUFFIX}")) if pages.is_dir() else frozenset()
    write_text(path, monitoring_index(history, evidently))
    return path

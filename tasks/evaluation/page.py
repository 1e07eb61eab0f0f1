"""The evaluation report: one self-contained HTML page, headline table first, built from the evaluation record.

`render_report(evaluation, figures)` is pure: the record (what `evaluate` also writes as evaluation.json and,
in part, metrics.json) and ready-made figure data URIs in, HTML out. Every number cell that comes from
metrics.json carries `data-key="<name>.<metric>"`, so tests (and anyone) can check the page against the file.
"""

from __future__ import annotations

import html
import math
from typing import Any

from tasks.objectives.metrics import headline_metrics, lower_is_better, metric_label, relative_worsening
from tasks.reports.html import page, table

EXTRA_STYLE = """
.verdict{padding:.6rem 1rem;border-radius:4px;font-size:1.1rem;margin:.5rem 0}
.verdict.pass{background:#e6f4ea}.verdict.fail{background:#fde7ea}.verdict.override{background:#fff3cd;color:#7a4b00}
td.ok{color:#11702b}td.bad{color:#b00020;font-weight:600}tr.worst td{background:#fff3f3}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
"""


class Num:
    """A number cell tied to a metrics.json key, rendered with `digits` decimals."""

    def __init__(self, value: float | None, key: str = "", digits: int = 3) -> None:
        self.value, self.key, self.digits = value, key, digits

    def __html__(self) -> str:
        text = "n/a" if self.value is None else f"{self.value:.{self.digits}f}"
        key = f' data-key="{html.escape(self.key)}"' if self.key else ""
        return f"<td{key}>{text}</td>"


def model_rows(evaluation: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metrics.json name, display name, description) for the candidate, the champion and each baseline."""
    rows = [("model", "candidate (this run)", "the model trained by this run")]
    champion = evaluation.get("champion") or {}
    if "champion" in evaluation["scores"]:
        rows.append(("champion", f"production v{champion.get('version')}", "the model in production now"))
    for name, description in evaluation.get("baselines", {}).items():
        rows.append((name, f"{name.replace('_', '-')} baseline", description))
    return rows


def comparison_text(metric: str, candidate: float, other: float) -> str:
    """'candidate 51.0% better' / '3.2% worse' / 'equal' on `metric`, in the metric's own direction."""
    worse = relative_worsening(metric, candidate, other) * 100
    if abs(worse) < 0.005:
        return "equal"
    return f"candidate {abs(worse):.1f}% {'worse' if worse > 0 else 'better'}"


def headline_section(evaluation: dict[str, Any]) -> str:
    task, scores = evaluation["task"], evaluation["scores"]
    primary = evaluation["primary_metric"]
    metrics = list(headline_metrics(task)) + (["bias"] if task == "regression" else [])
    rows = []
    for name, display, description in model_rows(evaluation):
        cells: list[Any] = [display]
        cells += [Num(scores[name].get(m), f"{name}.{m}") for m in metrics]
        versus = "" if name == "model" else comparison_text(primary, scores["model"][primary], scores[name][primary])
        rows.append([*cells, versus, description])
    headers = ["model", *(metric_label(m) for m in metrics), f"candidate vs it ({metric_label(primary)})", "what it is"]
    unit = evaluation.get("unit", "")
    direction = "lower" if lower_is_better(primary) else "higher"
    note = (
        f'<p class="muted">Test split, {evaluation["test_rows"]} rows. {metric_label(primary)} is the primary metric '
        f"({direction} is better){'; errors are in ' + html.escape(unit) if unit and task == 'regression' else ''}. "
        "Every model is scored on the same rows; baselines are fitted on the training split only.</p>"
    )
    return table(headers, rows, cls="headline") + note + weak_spots(evaluation)


def metric_text(value: float) -> str:
    """A metric with enough digits to tell slices apart: one decimal from 100 up (an RMSE of 103.4), else three
    significant digits (an accuracy of 0.912, not 0.9)."""
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3g}"


def weak_spots(evaluation: dict[str, Any]) -> str:
    """One line per slice: where the candidate does worst, in the problem's unit (regression: and which way)."""
    primary, rows = evaluation["primary_metric"], evaluation.get("slices") or []
    pick = max if lower_is_better(primary) else min
    items = []
    for name in dict.fromkeys(r["slice"] for r in rows):
        scored = [r for r in rows if r["slice"] == name and math.isfinite(r[primary])]
        if not scored:
            continue
        worst = pick(scored, key=lambda r: r[primary])
        score = metric_text(worst[primary])
        text = f"{name} = {worst['value']} ({worst['rows']} rows): {metric_label(primary)} {score}"
        if "bias" in worst:
            way = "under-predicts" if worst["bias"] < 0 else "over-predicts"
            text += f", {way} by {abs(worst['bias']):.1f} {evaluation.get('unit', '')} on average"
        items.append(f"<li>{html.escape(text)}</li>")
    return f"<p><b>Weakest slices</b> (details below):</p><ul>{''.join(items)}</ul>" if items else ""


def gate_section(blessing: dict[str, Any]) -> str:
    if blessing["overridden"]:
        cls, verdict = "override", "BLESSED BY OVERRIDE: the gate failed, deployment was allowed by params"
    elif blessing["blessed"]:
        cls, verdict = "pass", "BLESSED: every check passed; deploy may promote it"
    else:
        cls, verdict = "fail", "NOT BLESSED: deploy will refuse it and production stays as it is"
    parts = [f'<p class="verdict {cls}" id="verdict">{html.escape(verdict)}</p>']
    if blessing["overridden"]:
        parts.append(f"<p><b>Override reason:</b> {html.escape(blessing['override_reason'] or '')}</p>")
    rows = [
        [c["check"], c["metric"] or "", _Mark(c["passed"]), c["reason"]]
        for c in blessing["checks"]  # every check, passed or not
    ]
    parts.append(table(["check", "metric", "passed", "reason"], rows, cls="checks"))
    champion = blessing.get("champion")
    if champion:
        parts.append(
            f'<p class="muted">Compared with production version {champion.get("version")} '
            f"(SavedModel fingerprint {html.escape(str(champion.get('fingerprint') or '')[:12])}…); deploy refuses "
            "this blessing if production has changed since.</p>"
        )
    return "".join(parts)


def holdout_section(holdout: dict[str, Any]) -> str:
    """Candidate and champion on the champion's trusted holdout; a warning when the champion does much worse on the
    new rows than on it, with the columns that moved most."""
    version = holdout.get("version")
    if holdout.get("absent") or holdout.get("error"):
        return f"<p>Production version {version}: {html.escape(str(holdout.get('absent') or holdout.get('error')))}</p>"
    parts = [
        f"<p>The {holdout.get('rows')} rows production version {version} was blessed on (sha256 "
        f"{html.escape(str(holdout.get('sha256'))[:12])}…, checked against its model card). Broken new rows cannot "
        "move these scores.</p>"
    ]
    metrics = list(holdout["candidate"])
    rows = [[name, *(round(float(holdout[name][m]), 3) for m in metrics)] for name in ("candidate", "champion")]
    parts.append(table(["model", *(metric_label(m) for m in metrics)], rows, cls="holdout"))
    if holdout.get("champion_gap"):
        parts.append(f'<p class="verdict fail" id="champion-gap">{html.escape(holdout["champion_gap"])}</p>')
    moved = holdout.get("moved_columns") or []
    if moved:
        rows = [[m["column"], m["change"]] for m in moved]
        parts.append("<p>Columns that moved most from the holdout to the new test rows:</p>")
        parts.append(table(["column", "change"], rows, cls="moved"))
    return "".join(parts)


class _Mark:
    def __init__(self, passed: bool) -> None:
        self.passed = passed

    def __html__(self) -> str:
        return '<td class="ok">✓ pass</td>' if self.passed else '<td class="bad">✗ FAIL</td>'


def slices_section(evaluation: dict[str, Any], figure: str | None) -> str:
    rows = evaluation.get("slices") or []
    if not rows:
        return '<p class="muted">No slices configured (evaluate.slices in params.yaml).</p>'
    primary, task = evaluation["primary_metric"], evaluation["task"]
    metrics = ["rmse", "mae", "bias", "mean_actual"] if task == "regression" else list(headline_metrics(task))
    overall = evaluation["scores"]["model"][primary]
    parts = [
        f'<p class="muted">{metric_label(primary)} of the candidate per slice of the test split; the worst value of '
        f"each slice is highlighted. Overall {metric_label(primary)}: {overall:.3f}.</p>"
    ]
    if figure:
        parts.append(f'<img alt="{metric_label(primary)} by slice" src="{figure}">')
    for name in dict.fromkeys(r["slice"] for r in rows):
        part = [r for r in rows if r["slice"] == name]
        values = [r[primary] for r in part if r["rows"] > 0 and math.isfinite(r[primary])]
        worst = (max if lower_is_better(primary) else min)(values) if values else None
        body = [[r["value"], r["rows"], *(Num(r.get(m)) for m in metrics)] for r in part]
        marks = ["worst" if r[primary] == worst else "" for r in part]
        headers = ["value", "rows", *map(metric_label, metrics)]
        parts.append(f"<h3>{html.escape(name)}</h3>" + table(headers, body, row_classes=marks))
    return "".join(parts)


def importance_section(evaluation: dict[str, Any], figure: str | None) -> str:
    rows = evaluation.get("importance") or []
    if not rows:
        return '<p class="muted">Not computed.</p>'
    primary = evaluation["primary_metric"]
    body = [[r["feature"], Num(r["score_loss_mean"]), Num(r["score_loss_std"])] for r in rows]
    text = (
        f'<p class="muted">Each feature shuffled {evaluation.get("importance_repeats", "")} times on the test split; '
        f"the loss of {metric_label(primary)} is what the model owes to that feature. Near zero: the model does not "
        "use it (or a correlated feature carries the same information).</p>"
    )
    img = f'<img alt="permutation importance" src="{figure}">' if figure else ""
    headers = ["feature", f"{metric_label(primary)} lost (mean)", "std"]
    return text + f'<div class="grid"><div>{img}</div><div>{table(headers, body)}</div></div>'


def worst_errors_section(evaluation: dict[str, Any]) -> str:
    """The test rows the model got most wrong (evaluate.worst_errors), every id column shown (a review's text)."""
    rows = evaluation.get("worst_errors") or []
    if not rows:
        return ""
    headers = list(rows[0])
    body = [[Num(v) if isinstance(v, float) else str(v) for v in (row.get(h) for h in headers)] for row in rows]
    text = (
        '<p class="muted">A classifier: its wrong predictions made with the highest confidence; a regressor: its '
        "largest residuals.</p>"
    )
    return text + table(headers, body)


def classification_sections(details: dict[str, Any], figures: dict[str, str]) -> list[tuple[str, str]]:
    """Confusion matrix, per-class scores, calibration and (binary) the decision threshold in plain words."""
    sections = []
    per_class = details["per_class"]
    rows = [
        [name, Num(s["precision"]), Num(s["recall"]), Num(s["f1"]), s["support"], Num(s["roc_auc"]), Num(s["pr_auc"])]
        for name, s in per_class.items()
    ]
    headers = ["class", "precision", "recall", "F1", "support", "ROC AUC (one-vs-rest)", "PR AUC"]
    sections.append(("Per class", table(headers, rows)))
    matrix = details["confusion_matrix"]
    img = f'<img alt="confusion matrix" src="{figures["confusion"]}">' if "confusion" in figures else ""
    grid = table(["actual \\ predicted", *matrix["classes"]], [[c, *r] for c, r in zip(*matrix.values(), strict=True)])
    sections.append(("Confusion matrix", f'<div class="grid"><div>{img}</div><div>{grid}</div></div>'))
    if "threshold" in details:
        t = details["threshold"]
        negatives = t["false_positives"] + t["true_negatives"]
        positives = t["true_positives"] + t["false_negatives"]
        words = (
            f"<p>At the decision threshold <b>{t['threshold']:g}</b> (evaluate.decision_threshold): of {negatives} "
            f"actual negatives, <b>{t['false_positives']}</b> ({t['false_positive_rate']:.1%}) are flagged by "
            f"mistake (false positives); of {positives} actual positives, <b>{t['false_negatives']}</b> "
            f"({t['false_negative_rate']:.1%}) are missed (false negatives).</p>"
        )
        counts = [[k.replace("_", " "), Num(float(v)) if isinstance(v, float) else v] for k, v in t.items()]
        sections.append(("Decision threshold", words + table(["", "value"], counts)))
    if "curves" in figures:
        sections.append(("ROC and precision-recall", f'<img alt="ROC and PR curves" src="{figures["curves"]}">'))
    if "calibration" in figures:
        sections.append(("Calibration", f'<img alt="calibration" src="{figures["calibration"]}">'))
    return sections


def render_report(evaluation: dict[str, Any], figures: dict[str, str]) -> str:
    """The whole report. `figures` maps names (predictions, residuals, slices, importance, learning_curves,
    confusion, calibration) to PNG data URIs; a missing one leaves its section out."""
    blessing = evaluation["blessing"]

    def image(name: str, alt: str) -> str:
        return f'<img alt="{alt}" src="{figures[name]}">' if name in figures else ""

    sections = [
        ("Headline (test split)", headline_section(evaluation)),
        ("Gate", gate_section(blessing)),
        *([("Trusted holdout", holdout_section(evaluation["holdout"]))] if evaluation.get("holdout") else []),
        ("Where the model fails: slices", slices_section(evaluation, figures.get("slices"))),
        ("Permutation importance", importance_section(evaluation, figures.get("importance"))),
        ("Worst errors", worst_errors_section(evaluation)),
    ]
    if evaluation.get("classification"):
        sections += classification_sections(evaluation["classification"], figures)
    training = evaluation.get("training") or {}
    summary = ""
    if training:
        summary = (
            f'<p class="muted">{training.get("epochs_run")} epochs run, weights of epoch {training.get("best_epoch")} '
            "restored (EarlyStopping on validation loss).</p>"
        )
    sections += [
        ("Learning curves", summary + validation_vs_test(evaluation) + image("learning_curves", "learning curves")),
        ("Predicted vs actual", image("predictions", "predicted vs actual over time")),
        ("Residuals", image("residuals", "residuals")),
    ]
    splits = evaluation.get("splits", {})
    by_time = bool(splits) and all("from" in s for s in splits.values())
    if by_time:
        split_rows = [[name, s["rows"], s["from"], s["to"]] for name, s in splits.items()]
        sections.append(("Data", table(["split", "rows", "from", "to"], split_rows)))
    else:
        sections.append(("Data", table(["split", "rows"], [[name, s["rows"]] for name, s in splits.items()])))
    document = page(
        f"Evaluation: {evaluation['problem']}",
        [(heading, body) for heading, body in sections if body],
        subtitle=(
            f"{compared_with(evaluation)} "
            + ("Split by time: the model never saw the test period. " if by_time else "")
            + "This file is self-contained (figures embedded): it opens offline."
        ),
        back_href="../index.html",
    )
    return document.replace("</style>", EXTRA_STYLE + "</style>", 1)


def validation_vs_test(evaluation: dict[str, Any]) -> str:
    """A remark comparing the validation score of the restored epoch with the test score, when training logged the
    primary metric on the validation split (empty otherwise)."""
    primary = evaluation.get("primary_metric")
    validation = (evaluation.get("training") or {}).get(f"best_val_{primary}")
    test = ((evaluation.get("scores") or {}).get("model") or {}).get(primary)
    if not isinstance(validation, int | float) or not isinstance(test, int | float):
        return ""
    worse = test > validation if lower_is_better(primary) else test < validation
    gap = abs(test - validation) / max(abs(validation), 1e-12)
    remark = (
        f"<p>Validation {html.escape(primary)} of the restored epoch: <b>{validation:,.4g}</b>; test: "
        f"<b>{test:,.4g}</b> ({gap:.0%} {'worse' if worse else 'better'} on test). "
    )
    if worse and gap > 0.25:
        remark += (
            "The validation score is optimistic: it chose the epoch (early stopping) and the tuning trials, and the "
            "validation rows sit next to the training period. The test split was used for no choice, so its score is "
            "the honest one. A gap this large means the test period is harder or different: compare the splits' "
            "dates under Data and the slices above before trusting the validation figures.</p>"
        )
    else:
        remark += "Test and validation agree within 25%: the validation split was a fair guide.</p>"
    return remark


def compared_with(evaluation: dict[str, Any]) -> str:
    """One sentence saying what this report compares with what (no run time: the page is a byte-stable DVC out)."""
    champion = evaluation.get("champion") or {}
    versus = (
        f"the production model (version {champion['version']})"
        if champion.get("version") is not None
        else "no production model (none deployed yet)"
    )
    rows = evaluation.get("test_rows")
    on = f"the same {rows:,} test rows" if isinstance(rows, int) else "the same test rows"
    return f"The candidate trained by this run against {versus} and the baselines, on {on}."


def numbers_by_key(document: str) -> dict[str, str]:
    """The text of every `data-key` cell of a rendered report, by key: what tests check against metrics.json."""
    from html.parser import HTMLParser

    found: dict[str, str] = {}

    class Reader(HTMLParser):
        key: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.key = dict(attrs).get("data-key") if tag == "td" else None

        def handle_data(self, data: str) -> None:
            if self.key:
                found[self.key] = found.get(self.key, "") + data

        def handle_endtag(self, tag: str) -> None:
            self.key = None

    Reader().feed(document)
    return found

"""The evaluation in a few lines of Markdown, for a Prefect artifact (or a pull request comment).

Pure: metrics.json, the blessing and links in, Markdown out; flows/ decides where it goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasks.objectives.metrics import HEADLINE, metric_label


def _task_of(model_scores: Mapping[str, Any]) -> str:
    return next((task for task, names in HEADLINE.items() if names[0] in model_scores), "regression")


def verdict(blessing: Mapping[str, Any]) -> str:
    if blessing.get("overridden"):
        return "BLESSED BY OVERRIDE"
    return "BLESSED" if blessing.get("blessed") else "NOT BLESSED"


def headline_markdown(metrics: Mapping[str, Any], blessing: Mapping[str, Any], links: Mapping[str, str]) -> str:
    """A Markdown headline: the gate's verdict, one table row per model (candidate first), failed checks or the
    override reason, and `links` ({text: path or URL}) to the full reports."""
    models = {name: scores for name, scores in metrics.items() if isinstance(scores, Mapping)}
    if "model" not in models:
        raise ValueError("metrics have no 'model' entry; is this an evaluate metrics.json?")
    names = HEADLINE[_task_of(models["model"])]
    lines = [
        f"## Evaluation: {verdict(blessing)}",
        "",
        "| model | " + " | ".join(metric_label(n) for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for name, scores in models.items():
        shown = "candidate (model)" if name == "model" else name
        cells = " | ".join(f"{scores[n]:.3f}" if n in scores else "n/a" for n in names)
        lines.append(f"| {shown} | {cells} |")
    champion = blessing.get("champion")
    lines += ["", f"Champion: production version {champion['version']}." if champion else "Champion: none yet."]
    failed = list(blessing.get("failed", []))
    if failed:
        lines += ["", "Failed checks:", *(f"- {reason}" for reason in failed)]
    if blessing.get("overridden"):
        lines += ["", f"Override reason: {blessing.get('override_reason')}"]
    lines += ["", f"**{verdict(blessing)}**" + ("" if blessing.get("blessed") else ": deploy will refuse this model.")]
    if links:
        lines += ["", "Reports: " + " · ".join(f"[{text}]({target})" for text, target in links.items())]
    return "\n".join(lines) + "\n"

"""Figures of the evaluation report, as PNG data URIs (matplotlib, Agg backend): no network needed to view them.

Each function takes plain data (frames, lists of dicts) and returns one data URI, so the report never depends on
where the numbers came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tasks.objectives.metrics import metric_label
from tasks.reports.html import figure_to_data_uri


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def predictions_over_time(predictions: pd.DataFrame, unit: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 3.6))
    time = pd.to_datetime(predictions["timestamp"])
    ax.plot(time, predictions["actual"], label="actual", lw=1)
    ax.plot(time, predictions["predicted"], label="predicted", lw=1)
    ax.set_ylabel(unit)
    ax.set_title("Test split: predicted vs actual over time")
    ax.legend()
    fig.autofmt_xdate()
    return figure_to_data_uri(fig)


def residuals(predictions: pd.DataFrame) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].scatter(predictions["actual"], predictions["predicted"], s=6, alpha=0.5)
    top = float(max(predictions["actual"].max(), predictions["predicted"].max()))
    axes[0].plot([0, top], [0, top], color="k", lw=0.8)
    axes[0].set_xlabel("actual")
    axes[0].set_ylabel("predicted")
    axes[0].set_title("Predicted vs actual")
    axes[1].scatter(predictions["predicted"], predictions["residual"], s=6, alpha=0.5)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set_xlabel("predicted")
    axes[1].set_ylabel("residual (predicted - actual)")
    axes[1].set_title("Residuals vs predicted")
    axes[2].hist(predictions["residual"], bins=40)
    axes[2].set_xlabel("residual")
    axes[2].set_title("Residual distribution")
    fig.tight_layout()
    return figure_to_data_uri(fig)


def slice_errors(rows: Sequence[dict[str, Any]], metric: str, overall: float) -> str:
    """Horizontal bars of `metric` per slice value, one panel per slice, with the overall value as a line."""
    plt = _pyplot()
    frame = pd.DataFrame(rows)
    names = list(dict.fromkeys(frame["slice"]))
    heights = [max(1.2, 0.32 * int((frame["slice"] == n).sum()) + 0.6) for n in names]
    fig, axes = plt.subplots(len(names), 1, figsize=(9, sum(heights)), gridspec_kw={"height_ratios": heights})
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        part = frame[frame["slice"] == name]
        labels = [f"{v} (n={n})" for v, n in zip(part["value"], part["rows"], strict=True)]
        ax.barh(labels, part[metric].fillna(0.0), color="#4c78a8")  # NaN (undefined in the slice) drawn as none
        ax.axvline(overall, color="#b00020", lw=1, ls="--", label=f"overall {overall:.3g}")
        ax.invert_yaxis()
        ax.set_title(f"{metric_label(metric)} by {name}", fontsize=10, loc="left")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return figure_to_data_uri(fig)


def permutation_importance(rows: Sequence[dict[str, Any]], metric: str) -> str:
    plt = _pyplot()
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(frame) + 1.2))
    ax.barh(frame["feature"], frame["score_loss_mean"], xerr=frame["score_loss_std"], color="#4c78a8")
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"{metric_label(metric)} lost when the feature is shuffled")
    ax.set_title("Permutation importance (test split)")
    fig.tight_layout()
    return figure_to_data_uri(fig)


def learning_curves(history: pd.DataFrame, best_epoch: int | None) -> str:
    """Loss and every tracked metric, training vs validation, per epoch; the restored best epoch marked."""
    plt = _pyplot()
    metrics = [c for c in history.columns if c != "epoch" and not c.startswith("val_")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    epoch = history["epoch"] + 1  # CSVLogger counts from 0; reports count from 1 like train.json
    for ax, name in zip(axes[0], metrics, strict=True):
        ax.plot(epoch, history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(epoch, history[f"val_{name}"], label="validation")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="k", lw=0.8, ls=":", label=f"best epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        if name == "loss":
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_to_data_uri(fig)


def confusion_matrix(classes: Sequence[str], counts: Sequence[Sequence[int]]) -> str:
    plt = _pyplot()
    matrix = np.asarray(counts)
    size = max(3.5, 0.45 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(image, ax=ax)
    ax.set_title("Confusion matrix (test split)")
    fig.tight_layout()
    return figure_to_data_uri(fig)


def calibration(points: Sequence[dict[str, Any]], label: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="perfectly calibrated")
    ax.plot([p["mean_predicted"] for p in points], [p["fraction_positive"] for p in points], marker="o", label="model")
    ax.set_xlabel(f"mean predicted {label}")
    ax.set_ylabel("observed fraction")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Calibration (reliability diagram)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_to_data_uri(fig)


def roc_pr_curves(curves: dict[str, dict[str, list[float]]]) -> str:
    """ROC and precision-recall curves, one line per class (one-vs-rest; binary: the positive class)."""
    plt = _pyplot()
    fig, (roc, pr) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, curve in curves.items():
        roc.plot(curve["fpr"], curve["tpr"], lw=1.2, label=name)
        pr.plot(curve["recall"], curve["precision"], lw=1.2, label=name)
    roc.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--")
    roc.set_xlabel("false positive rate")
    roc.set_ylabel("true positive rate")
    roc.set_title("ROC curve")
    pr.set_xlabel("recall")
    pr.set_ylabel("precision")
    pr.set_title("Precision-recall curve")
    for ax in (roc, pr):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8, title="class")
    fig.tight_layout()
    return figure_to_data_uri(fig)

"""Scores, as pure functions of arrays: regression, classification, and which direction of each is better.

Regression: `regression_metrics` (RMSE, MAE, R², mean bias). Classification: `classification_metrics` gathers
accuracy, per-class precision/recall/F1, ROC AUC and PR AUC (binary, or one-vs-rest per class and macro), log loss,
the confusion matrix, ROC and PR curves and a calibration curve; for a binary task also the decision threshold's
confusion counts and false-positive / false-negative rates, as a stakeholder reads them. `headline_metrics(task)`
names the scores a report and the gate lead with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Scores with a direction, which the gate compares against a champion. `bias` (signed) has none.
LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})
HIGHER_IS_BETTER = frozenset({"r2", "accuracy", "macro_f1", "roc_auc", "pr_auc"})
HEADLINE = {
    "regression": ("rmse", "mae", "r2"),
    "classification": ("accuracy", "macro_f1", "log_loss", "roc_auc"),
}


METRIC_LABELS = {
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "bias": "bias",
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "log_loss": "log loss",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
}


def metric_label(metric: str) -> str:
    """How reports write a score's name (RMSE, R², ROC AUC)."""
    return METRIC_LABELS.get(metric, metric)


def headline_metrics(task: str) -> tuple[str, ...]:
    """The scores a report's headline table shows for `task` ("regression" or "classification")."""
    try:
        return HEADLINE[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(HEADLINE)}") from None


def lower_is_better(metric: str) -> bool:
    """True when a smaller `metric` is better; ValueError for a score without a direction."""
    if metric in LOWER_IS_BETTER:
        return True
    if metric in HIGHER_IS_BETTER:
        return False
    known = sorted(LOWER_IS_BETTER | HIGHER_IS_BETTER)
    raise ValueError(f"metric {metric!r} has no better direction; use one of {known}")


def relative_worsening(metric: str, candidate: float, reference: float) -> float:
    """How much worse `candidate` is than `reference` on `metric`, as a fraction of |reference|.

    Positive means worse, negative means better; the direction comes from `lower_is_better`. A reference of 0
    gives 0 when the two are equal and ±inf otherwise.
    """
    change = candidate - reference if lower_is_better(metric) else reference - candidate
    if reference == 0:
        return 0.0 if change == 0 else float(np.copysign(np.inf, change))
    return float(change / abs(reference))


def _pair(actual: Any, predicted: Any) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(actual, dtype="float64").ravel()
    predicted = np.asarray(predicted, dtype="float64").ravel()
    if actual.shape != predicted.shape or actual.size == 0:
        raise ValueError(f"need two equal, non-empty arrays, got {actual.shape} and {predicted.shape}")
    return actual, predicted


def regression_metrics(actual: Any, predicted: Any) -> dict[str, float]:
    """RMSE, MAE, R² and mean bias (mean of predicted - actual) of `predicted` against `actual` (1-D, same length).

    R² is NaN when `actual` is constant (it is undefined there).
    """
    actual, predicted = _pair(actual, predicted)
    error = predicted - actual
    total = float(np.sum((actual - actual.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1.0 - np.sum(error**2) / total) if total > 0 else float("nan"),
        "bias": float(np.mean(error)),
    }


# --- classification -------------------------------------------------------------------------------------------


def _probabilities(probabilities: Any, n_classes: int) -> np.ndarray:
    """(n, k) class probabilities; a binary task may pass (n,) or (n, 1) probabilities of the positive class."""
    proba = np.asarray(probabilities, dtype="float64")
    if n_classes == 2 and (proba.ndim == 1 or proba.shape[-1] == 1):
        positive = proba.ravel()
        proba = np.column_stack([1.0 - positive, positive])
    if proba.ndim != 2 or proba.shape[1] != n_classes:
        raise ValueError(f"expected probabilities of shape (n, {n_classes}), got {proba.shape}")
    if np.any(proba < -1e-9) or np.any(proba > 1 + 1e-9):
        raise ValueError("probabilities must lie in [0, 1]")
    return proba


def _class_indices(actual: Any, classes: Sequence[Any]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    values = np.asarray(actual).ravel().tolist()
    unknown = sorted({str(v) for v in values if v not in lookup})
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {list(classes)}")
    return np.array([lookup[v] for v in values], dtype="int64")


def predicted_classes(probabilities: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Index of the predicted class per row: argmax, or for two classes `p(positive) >= threshold` when given."""
    if probabilities.shape[1] == 2 and threshold is not None:
        return (probabilities[:, 1] >= threshold).astype("int64")
    return np.argmax(probabilities, axis=1)


def confusion_matrix(actual_idx: np.ndarray, predicted_idx: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts with rows = actual class, columns = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype="int64")
    np.add.at(matrix, (actual_idx, predicted_idx), 1)
    return matrix


def per_class_scores(matrix: np.ndarray, classes: Sequence[Any]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where a ratio is undefined)."""
    scores: dict[str, dict[str, float]] = {}
    for i, name in enumerate(classes):
        tp = float(matrix[i, i])
        predicted, actual = float(matrix[:, i].sum()), float(matrix[i, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[str(name)] = {"precision": precision, "recall": recall, "f1": f1, "support": int(actual)}
    return scores


def one_vs_rest_auc(actual_idx: np.ndarray, probabilities: np.ndarray, classes: Sequence[Any]) -> dict[str, Any]:
    """ROC AUC and PR AUC (average precision) per class, one class against the rest, and their macro means.

    A class absent from `actual` (or present in every row) has no AUC: NaN, left out of the means. For two classes
    the task's ROC/PR AUC is that of the positive (second) class.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    per_class: dict[str, dict[str, float]] = {}
    for i, name in enumerate(classes):
        is_class = actual_idx == i
        if is_class.all() or not is_class.any():
            per_class[str(name)] = {"roc_auc": float("nan"), "pr_auc": float("nan")}
            continue
        per_class[str(name)] = {
            "roc_auc": float(roc_auc_score(is_class, probabilities[:, i])),
            "pr_auc": float(average_precision_score(is_class, probabilities[:, i])),
        }
    if len(classes) == 2:
        positive = per_class[str(classes[1])]
        return {"roc_auc": positive["roc_auc"], "pr_auc": positive["pr_auc"], "per_class": per_class}
    roc = [s["roc_auc"] for s in per_class.values() if not np.isnan(s["roc_auc"])]
    pr = [s["pr_auc"] for s in per_class.values() if not np.isnan(s["pr_auc"])]
    return {
        "roc_auc": float(np.mean(roc)) if roc else float("nan"),
        "pr_auc": float(np.mean(pr)) if pr else float("nan"),
        "per_class": per_class,
    }


def _thin(points: np.ndarray, max_points: int) -> np.ndarray:
    """At most `max_points` evenly spaced indices of `points`, the first and last always kept."""
    if len(points) <= max_points:
        return np.arange(len(points))
    return np.unique(np.linspace(0, len(points) - 1, max_points).round().astype(int))


def roc_pr_curves(
    actual_idx: np.ndarray, probabilities: np.ndarray, classes: Sequence[Any], max_points: int = 200
) -> dict[str, dict[str, list[float]]]:
    """ROC (fpr, tpr) and precision-recall (recall, precision) curves per class, one against the rest; for two
    classes only the positive (second) one. Curves are thinned to `max_points`; classes absent from (or filling)
    `actual_idx` have none."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    curves: dict[str, dict[str, list[float]]] = {}
    wanted = [1] if len(classes) == 2 else range(len(classes))
    for i in wanted:
        is_class = actual_idx == i
        if is_class.all() or not is_class.any():
            continue
        fpr, tpr, _ = roc_curve(is_class, probabilities[:, i])
        precision, recall, _ = precision_recall_curve(is_class, probabilities[:, i])
        r, p = _thin(fpr, max_points), _thin(recall, max_points)
        curves[str(classes[i])] = {
            "fpr": fpr[r].tolist(),
            "tpr": tpr[r].tolist(),
            "recall": recall[p].tolist(),
            "precision": precision[p].tolist(),
        }
    return curves


def log_loss(actual_idx: np.ndarray, probabilities: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the actual class; probabilities are clipped to [eps, 1 - eps]."""
    chosen = probabilities[np.arange(len(actual_idx)), actual_idx]
    return float(-np.mean(np.log(np.clip(chosen, eps, 1 - eps))))


def calibration_curve(is_positive: np.ndarray, probability: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Reliability diagram points: per equal-width probability bin with rows, the mean predicted probability and
    the observed fraction of positives. Empty bins are left out."""
    is_positive = np.asarray(is_positive, dtype="float64").ravel()
    probability = np.asarray(probability, dtype="float64").ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1], right=False), 0, bins - 1)
    points = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            points.append(
                {
                    "bin_from": float(edges[b]),
                    "bin_to": float(edges[b + 1]),
                    "mean_predicted": float(probability[mask].mean()),
                    "fraction_positive": float(is_positive[mask].mean()),
                    "rows": int(mask.sum()),
                }
            )
    return points


def threshold_report(is_positive: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, float]:
    """What a decision threshold does on this data: confusion counts, false-positive and false-negative rates."""
    is_positive = np.asarray(is_positive, dtype=bool).ravel()
    flagged = np.asarray(probability, dtype="float64").ravel() >= threshold
    tp = int(np.sum(flagged & is_positive))
    fp = int(np.sum(flagged & ~is_positive))
    fn = int(np.sum(~flagged & is_positive))
    tn = int(np.sum(~flagged & ~is_positive))
    return {
        "threshold": float(threshold),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "true_negatives": tn,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "false_negative_rate": fn / (fn + tp) if fn + tp else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }


def classification_metrics(
    actual: Any,
    probabilities: Any,
    classes: Sequence[Any],
    threshold: float = 0.5,
    calibration_bins: int = 10,
) -> dict[str, Any]:
    """Every classification score of the report, for labels `actual` and class `probabilities`.

    `classes` orders the probability columns; with two classes the second is the positive one, predictions use
    `threshold` on its probability and the result carries a `threshold` section. Calibration is that of p(positive)
    for two classes, else of the top-class confidence against being right. Raises ValueError on shape mismatches or
    labels outside `classes`.
    """
    classes = list(classes)
    if len(classes) < 2:
        raise ValueError(f"need at least two classes, got {classes}")
    proba = _probabilities(probabilities, len(classes))
    actual_idx = _class_indices(actual, classes)
    if len(actual_idx) != len(proba) or len(actual_idx) == 0:
        raise ValueError(f"need as many probability rows as labels, got {len(proba)} and {len(actual_idx)}")
    binary = len(classes) == 2
    predicted_idx = predicted_classes(proba, threshold if binary else None)
    matrix = confusion_matrix(actual_idx, predicted_idx, len(classes))
    per_class = per_class_scores(matrix, classes)
    auc = one_vs_rest_auc(actual_idx, proba, classes)
    for name, scores in auc["per_class"].items():
        per_class[name].update(scores)
    if binary:
        calibration = calibration_curve(actual_idx == 1, proba[:, 1], calibration_bins)
    else:
        calibration = calibration_curve(predicted_idx == actual_idx, proba.max(axis=1), calibration_bins)
    result: dict[str, Any] = {
        "accuracy": float(np.mean(predicted_idx == actual_idx)),
        "macro_f1": float(np.mean([s["f1"] for s in per_class.values()])),
        "log_loss": log_loss(actual_idx, proba),
        "roc_auc": auc["roc_auc"],
        "pr_auc": auc["pr_auc"],
        "per_class": per_class,
        "confusion_matrix": {"classes": [str(c) for c in classes], "counts": matrix.tolist()},
        "calibration": calibration,
        "curves": roc_pr_curves(actual_idx, proba, classes),
    }
    if binary:
        result["threshold"] = threshold_report(actual_idx == 1, proba[:, 1], threshold)
    return result

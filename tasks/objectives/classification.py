"""Classification, binary or multi-class: class probabilities per row, scored by accuracy, macro F1, log loss and
ROC AUC (tasks.objectives.metrics). Targets are class indices in the features; `spec.classes` names them, and with two
classes the second is the positive one (its probability is what `evaluate.decision_threshold` applies to)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError
from tasks.objectives import plots
from tasks.objectives.baselines import majority_class_baseline
from tasks.objectives.contract import Predictor, Scorer
from tasks.objectives.metrics import classification_metrics, headline_metrics


def class_names(spec: dict[str, Any]) -> list[str]:
    classes = spec.get("classes")
    if not classes or len(classes) < 2:
        raise PipelineError("data/features/spec.json: a classification spec needs 'classes'; run the featurize stage")
    return [str(c) for c in classes]


class Classification:
    task = "classification"

    def __init__(self, name: str) -> None:
        self.name = name  # binary | multiclass

    def scorer(self, spec: dict[str, Any], threshold: float) -> Scorer:
        classes = class_names(spec)
        return lambda actual, proba: classification_metrics(actual, proba, classes, threshold)

    def headline(self, scores: dict[str, Any]) -> dict[str, float]:
        out = {name: float(scores[name]) for name in [*headline_metrics(self.task), "pr_auc"]}
        if "threshold" in scores:  # binary: what the decision threshold does
            for key in ("false_positive_rate", "false_negative_rate"):
                out[key] = float(scores["threshold"][key])
        return out

    def targets(self, frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
        return frame[spec["target"]].to_numpy(dtype="int32")

    def actual(self, frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
        names = class_names(spec)
        return np.array([names[i] for i in frame[spec["target"]].to_numpy(dtype="int64")], dtype=object)

    def predictions(self, output: Any) -> np.ndarray:
        proba = np.asarray(output, dtype="float64")
        if proba.ndim == 1 or proba.shape[-1] == 1:  # a sigmoid output: p(positive class)
            positive = proba.ravel()
            proba = np.column_stack([1.0 - positive, positive])
        return proba

    def baseline(self, train: pd.DataFrame, spec: dict[str, Any]) -> tuple[str, Predictor, str]:
        classes = list(range(len(class_names(spec))))
        predictor = majority_class_baseline(train, spec["target"], classes)
        return "majority_class", predictor, "the training class frequencies, for every row"

    def prediction_frame(
        self, ids: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray, spec: dict[str, Any]
    ) -> pd.DataFrame:
        names = np.asarray(class_names(spec), dtype=object)
        return ids.assign(
            actual=actual, predicted=names[np.argmax(predicted, axis=1)], confidence=predicted.max(axis=1)
        )

    def figures(self, record: dict[str, Any], predictions: pd.DataFrame) -> dict[str, str]:
        details = record["classification"]
        figures = {
            "confusion": plots.confusion_matrix(**details["confusion_matrix"]),
            "calibration": plots.calibration(details["calibration"], "probability"),
        }
        if details["curves"]:
            figures["curves"] = plots.roc_pr_curves(details["curves"])
        return figures

    def output_signature(self, spec: dict[str, Any]) -> dict[str, Any]:
        classes = class_names(spec)  # the output holds one probability per class, in this order
        return {
            "name": "output_0",
            "dtype": "float32",
            "shape": [len(classes)],
            "meaning": spec["target"],
            "classes": classes,
        }


BINARY = Classification("binary")
MULTICLASS = Classification("multiclass")

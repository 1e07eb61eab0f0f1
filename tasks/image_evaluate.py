"""evaluate, for image classification: test accuracy, per-class precision/recall/F1 and the confusion matrix,
beside two baselines, and the blessing deploy needs.

Baselines, each fitted on the training split alone: `common_sense` predicts the commonest training class;
`linear` is a scikit-learn logistic regression on the raw pixels (fitted on at most `evaluate.linear_max_images`
training images, to bound its cost on the full set). The model is blessed when its test accuracy reaches
`evaluate.min_accuracy` and, unless `evaluate.require_beating_baselines` is false, beats every baseline.

Outputs, the same files as the tabular evaluation so that `report` and `deploy` read both alike:
reports/evaluation/metrics.json (for `dvc metrics`), evaluation.json (everything the report shows: scores, per-class
scores, confusion matrix, blessing), predictions.csv (one row per test image), slices.csv (accuracy per actual
class), importance.csv (occlusion importance: test accuracy lost when one region of every image is blanked),
index.html (self-contained), and data/evaluation/blessing.json.
"""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.atomic import atomic_file, write_text
from tasks.errors import PipelineError
from tasks.evaluate import BLESSING, HISTORY, MODEL, REPORT_DIR
from tasks.image_tables import to_arrays
from tasks.params import Params
from tasks.report_html import figure_to_data_uri, page, table

log = logging.getLogger(__name__)


def classification_scores(actual: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, per-class precision/recall/F1/support and the confusion matrix
    (rows = actual class, columns = predicted class)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(actual, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": float(accuracy_score(actual, predicted)),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion_matrix": confusion_matrix(actual, predicted, labels=labels).tolist(),
    }


def baseline_predictions(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, max_images: int, seed: int
) -> dict[str, np.ndarray]:
    """Test-set predictions of each baseline, fitted on the training split only."""
    from sklearn.linear_model import LogisticRegression

    commonest = int(np.bincount(train_y).argmax())
    rng = np.random.default_rng(seed)
    take = rng.choice(len(train_x), size=min(max_images, len(train_x)), replace=False)
    flat = train_x.reshape(len(train_x), -1)[take] / 255.0
    linear = LogisticRegression(max_iter=300, C=0.1).fit(flat, train_y[take])
    return {
        "common_sense": np.full(len(test_x), commonest),
        "linear": linear.predict(test_x.reshape(len(test_x), -1) / 255.0),
    }


def class_slices(actual: np.ndarray, predicted: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Accuracy per actual class (that class's recall), one row each."""
    rows = []
    for index, name in enumerate(classes):
        mask = actual == index
        accuracy = float(np.mean(predicted[mask] == index)) if mask.any() else float("nan")
        rows.append({"slice": "actual class", "slice_value": name, "rows": int(mask.sum()), "accuracy": accuracy})
    return pd.DataFrame(rows)


def occlusion_importance(predict: Any, images: np.ndarray, actual: np.ndarray, grid: int = 4) -> pd.DataFrame:
    """Test accuracy lost when one cell of a `grid` x `grid` partition of every image is blanked (set to 0).

    The image counterpart of permutation importance: which regions the model relies on. `predict` maps uint8
    images to class probabilities.
    """
    base = float(np.mean(predict(images).argmax(axis=1) == actual))
    height, width = images.shape[1:]
    rows = []
    for i in range(grid):
        for j in range(grid):
            r0, r1 = i * height // grid, (i + 1) * height // grid
            c0, c1 = j * width // grid, (j + 1) * width // grid
            occluded = images.copy()
            occluded[:, r0:r1, c0:c1] = 0
            accuracy = float(np.mean(predict(occluded).argmax(axis=1) == actual))
            feature = f"rows {r0}-{r1 - 1}, cols {c0}-{c1 - 1}"
            rows.append({"feature": feature, "score_loss_mean": base - accuracy, "accuracy_occluded": accuracy})
    return pd.DataFrame(rows).sort_values("score_loss_mean", ascending=False, ignore_index=True)


def decide_blessing(accuracy: dict[str, float], min_accuracy: float, require_beating_baselines: bool) -> dict[str, Any]:
    """Bless when the model's accuracy reaches `min_accuracy` and beats every baseline (if required)."""
    model = accuracy["model"]
    reasons = [
        f"model accuracy {model:.4f} {'reaches' if model >= min_accuracy else 'is below'} "
        f"evaluate.min_accuracy {min_accuracy:.4f}"
    ]
    beaten = True
    for name, score in accuracy.items():
        if name != "model":
            wins = model > score
            beaten &= wins
            reasons.append(f"model accuracy {model:.4f} {'beats' if wins else 'does not beat'} {name} {score:.4f}")
    blessed = model >= min_accuracy and (beaten or not require_beating_baselines)
    return {"blessed": blessed, "beats_baselines": beaten, "reasons": reasons}


def _figures(scores: dict[str, Any], classes: list[str], history: pd.DataFrame | None) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(scores["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(
            j, i, str(value), ha="center", va="center", fontsize=8, color="white" if value > matrix.max() / 2 else "k"
        )
    ax.set_title("Confusion matrix (test split)")
    figures = {"confusion": figure_to_data_uri(fig)}
    if history is not None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
        for ax, name in zip(axes, ("loss", "accuracy"), strict=True):
            for column in (name, f"val_{name}"):
                if column in history:
                    ax.plot(history["epoch"] + 1, history[column], marker=".", label=column)
            ax.set_xlabel("epoch")
            ax.legend()
        figures["history"] = figure_to_data_uri(fig)
    return figures


def render_report(
    problem: ImageProblem,
    scores: dict[str, Any],
    accuracy: dict[str, float],
    blessing: dict[str, Any],
    spec: dict[str, Any],
    history: pd.DataFrame | None,
    importance: pd.DataFrame,
) -> str:
    figures = _figures(scores, list(problem.classes), history)
    per_class = [[name, s["precision"], s["recall"], s["f1"], s["support"]] for name, s in scores["per_class"].items()]
    verdict = "BLESSED: may be deployed" if blessing["blessed"] else "NOT BLESSED: will not be deployed"
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in blessing["reasons"])
    sections = [
        (
            "Headline (test split)",
            table(["model", "accuracy"], [[k, v] for k, v in accuracy.items()])
            + table(
                ["macro precision", "macro recall", "macro F1"],
                [[scores["macro_precision"], scores["macro_recall"], scores["macro_f1"]]],
            ),
        ),
        ("Gate", f'<p class="{"pass" if blessing["blessed"] else "fail"}">{verdict}</p><ul>{reasons}</ul>'),
        ("Per class", table(["class", "precision", "recall", "F1", "support"], per_class)),
        ("Confusion matrix", f'<img alt="confusion matrix" src="{figures["confusion"]}">'),
        (
            "Which regions matter (occlusion)",
            table(
                ["region blanked", "accuracy lost"], importance[["feature", "score_loss_mean"]].head(6).values.tolist()
            ),
        ),
        ("Data", table(["split", "images"], [[k, v["rows"]] for k, v in spec.get("splits", {}).items()])),
    ]
    if "history" in figures:
        sections.insert(4, ("Training history", f'<img alt="training history" src="{figures["history"]}">'))
    return page(f"Evaluation: {problem.name}", sections, subtitle=problem.description)


def main(params: Params, problem: ImageProblem) -> None:
    from tasks.train import model_inputs, read_spec, read_split

    min_accuracy = params.get("evaluate.min_accuracy", float, 0.0, minimum=0.0, maximum=1.0)
    require = params.get("evaluate.require_beating_baselines", bool, True)
    max_images = params.get("evaluate.linear_max_images", int, 10_000, minimum=10)
    spec = read_spec()
    train, test = read_split("train"), read_split("test")
    if not MODEL.exists():
        raise PipelineError(f"{MODEL}: not found; run the train stage first")

    import keras

    model = keras.models.load_model(MODEL)
    probabilities = np.asarray(model.predict(model_inputs(test, spec)["image"], batch_size=512, verbose=0))
    predicted = probabilities.argmax(axis=1)
    test_x, actual = to_arrays(test, spec["image_shape"])
    train_x, train_y = to_arrays(train, spec["image_shape"])

    classes = list(problem.classes)
    scores = classification_scores(actual, predicted, classes)
    accuracy = {"model": scores["accuracy"]}
    for name, guesses in baseline_predictions(train_x, train_y, test_x, max_images, seed=0).items():
        accuracy[name] = float(np.mean(guesses == actual))
    blessing = decide_blessing(accuracy, min_accuracy, require)
    predictions = pd.DataFrame(
        {
            "index": np.arange(len(actual)),
            "actual": [classes[i] for i in actual],
            "predicted": [classes[i] for i in predicted],
            "confidence": probabilities.max(axis=1),
            "correct": predicted == actual,
        }
    )
    history = pd.read_csv(HISTORY) if HISTORY.exists() else None
    slices = class_slices(actual, predicted, classes)
    importance = occlusion_importance(lambda x: model.predict(x, batch_size=512, verbose=0), test_x, actual)

    write_text(REPORT_DIR / "index.html", render_report(problem, scores, accuracy, blessing, spec, history, importance))
    with atomic_file(REPORT_DIR / "predictions.csv") as tmp:
        predictions.to_csv(tmp, index=False, float_format="%.4f")
    metrics = {
        "model": {k: scores[k] for k in ("accuracy", "macro_precision", "macro_recall", "macro_f1")},
        **{name: {"accuracy": value} for name, value in accuracy.items() if name != "model"},
        "per_class": scores["per_class"],
        "confusion_matrix": {"labels": classes, "matrix": scores["confusion_matrix"]},
        "beats_baselines": blessing["beats_baselines"],
    }
    for name, frame in (("slices.csv", slices), ("importance.csv", importance)):
        with atomic_file(REPORT_DIR / name) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.4f")
    record = {
        "problem": problem.name,
        "task": problem.task,
        "primary_metric": "accuracy",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scores": {"model": metrics["model"], **{k: v for k, v in metrics.items() if k in ("common_sense", "linear")}},
        "per_class": scores["per_class"],
        "confusion_matrix": metrics["confusion_matrix"],
        "blessing": blessing,
    }
    write_text(REPORT_DIR / "evaluation.json", json.dumps(record, indent=2) + "\n")
    write_text(REPORT_DIR / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_text(BLESSING, json.dumps(blessing, indent=2) + "\n")
    log.info("test accuracy model %.4f; %s", accuracy["model"], "; ".join(blessing["reasons"]))

"""evaluate: score the candidate beside the production model and the baselines on the test split, and bless it or not.

Everything is scored on the same test rows: the candidate (data/model/model.keras), the champion (the production
model of the model store, loaded as it is served; absent on the first run, see tasks/champion.py for why the store
is not a DVC dependency) and the three baselines (tasks/baselines.py). The gate (tasks/gate.py) decides the
blessing from the thresholds in `evaluate.gate`.

Outputs:
- reports/evaluation/metrics.json: headline scores per model (read by `dvc metrics`), `blessed`, `beats_baselines`;
- reports/evaluation/evaluation.json: the whole record (scores, gate checks, slices, importance, ...);
- reports/evaluation/{predictions,slices,importance}.csv: data for `dvc plots`;
- reports/evaluation/index.html: one self-contained report, headline table first;
- data/evaluation/blessing.json: pass/fail plus every reason; `deploy` reads it and deploys only a blessed model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines import load_problem
from pipelines.problem import TabularProblem
from tasks import evaluation_plots as plots
from tasks.atomic import atomic_file, write_text
from tasks.baselines import fit_baselines
from tasks.champion import champion_identity, savedmodel_predictions
from tasks.errors import PipelineError, run_stage
from tasks.evaluation_report import render_report
from tasks.gate import decide_blessing, read_gate_policy
from tasks.importance import permutation_importance
from tasks.lineage import sha256_path
from tasks.metrics import (
    classification_metrics,
    headline_metrics,
    lower_is_better,
    metric_label,
    regression_metrics,
)
from tasks.params import Params
from tasks.slices import metrics_by_slice, parse_slices
from tasks.store_location import store_from_params
from tasks.train import model_inputs, read_spec, read_split

MODEL = Path("data/model/model.keras")
HISTORY = Path("data/model/history.csv")
TRAIN_SUMMARY = Path("data/model/train.json")
REPORT_DIR = Path("reports/evaluation")
BLESSING = Path("data/evaluation/blessing.json")
log = logging.getLogger(__name__)

Scorer = Callable[[np.ndarray, np.ndarray], dict[str, Any]]


def make_scorer(task: str, classes: list[Any] | None, threshold: float) -> Scorer:
    """Full scores of predictions against actual values for `task` (see tasks.metrics)."""
    if task == "regression":
        return regression_metrics
    if task == "classification":
        if not classes:
            raise PipelineError("data/features/spec.json: a classification spec needs 'classes'; re-run featurize")
        return lambda actual, proba: classification_metrics(actual, proba, classes, threshold)
    raise PipelineError(f"evaluate: unknown task {task!r}; expected regression or classification")


def scorer_from_params(params: Params, task: str, spec: dict[str, Any]) -> Scorer:
    """The scorer of `task`, with the binary decision threshold `evaluate.decision_threshold` (default 0.5)."""
    threshold = params.get("evaluate.decision_threshold", float, 0.5, minimum=0.0, maximum=1.0)
    return make_scorer(task, spec.get("classes"), threshold)


def headline(task: str, scores: dict[str, Any]) -> dict[str, float]:
    """The scalar scores that go to metrics.json (and that floors and champion checks may name)."""
    names = [*headline_metrics(task), "bias"] if task == "regression" else [*headline_metrics(task), "pr_auc"]
    out = {name: float(scores[name]) for name in names}
    if "threshold" in scores:  # binary: what the decision threshold does
        for key in ("false_positive_rate", "false_negative_rate"):
            out[key] = float(scores["threshold"][key])
    return out


def score_champion(
    champion: dict[str, Any] | None,
    test: pd.DataFrame,
    spec: dict[str, Any],
    actual: np.ndarray,
    score: Scorer,
    task: str,
) -> dict[str, Any] | None:
    """The champion identity with its headline `metrics`, or with `error` when it cannot be scored on `test`."""
    if champion is None:
        return None
    try:
        predicted = savedmodel_predictions(Path(champion["path"]), test, spec)
        return {**champion, "metrics": headline(task, score(actual, predicted))}
    except Exception as err:  # any failure means "cannot be compared": the gate fails on it, with this message
        log.warning("production version %s cannot be scored: %s", champion["version"], err)
        return {**champion, "error": f"{type(err).__name__}: {err}"}


def baseline_descriptions(problem: TabularProblem, names: list[str]) -> dict[str, str]:
    doc = (problem.common_sense_baseline.__doc__ or "").strip().splitlines()
    common = doc[0].removeprefix("Common-sense baseline:").strip() if doc else "the problem's common-sense rule"
    described = {
        "common_sense": f"{common} (pipelines/{problem.name})",
        "mean": "the training mean, for every row",
        "majority_class": "the training class frequencies, for every row",
        "linear": "scikit-learn ridge regression on the same features",
        "logistic": "scikit-learn logistic regression on the same features",
    }
    return {name: described.get(name, name) for name in names}


def prediction_frame(task: str, test: pd.DataFrame, spec: dict[str, Any], actual: Any, predicted: Any) -> pd.DataFrame:
    frame = pd.DataFrame({"timestamp": test[spec["timestamp"]].astype(str), "actual": actual})
    if task == "regression":
        return frame.assign(predicted=predicted, residual=predicted - actual)
    classes = list(spec["classes"])
    return frame.assign(predicted=[classes[i] for i in np.argmax(predicted, axis=1)], confidence=predicted.max(axis=1))


def evaluate(
    problem: TabularProblem,
    params: Params,
    spec: dict[str, Any],
    train: pd.DataFrame,
    test: pd.DataFrame,
    predict: Callable[[pd.DataFrame], np.ndarray],
    champion: dict[str, Any] | None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The evaluation record and the predictions table; `champion` already scored (see score_champion)."""
    task = problem.task
    policy = read_gate_policy(params, task)
    slices = parse_slices(params.raw("evaluate.slices", None), list(test.columns), params.source)
    repeats = params.get("evaluate.permutation_repeats", int, 5, minimum=1)
    seed = params.get("evaluate.seed", int, 0)
    classes = spec.get("classes")
    score = scorer_from_params(params, task, spec)

    actual = test[spec["target"]].to_numpy(dtype="float64" if task == "regression" else object)
    predicted = predict(test)
    full = score(actual, predicted)
    scores = {"model": headline(task, full)}
    if champion and "metrics" in champion:
        scores["champion"] = champion["metrics"]
    baselines = fit_baselines(problem, train, spec, classes)
    for name, baseline in baselines.items():
        scores[name] = headline(task, score(actual, baseline(test)))
    blessing = decide_blessing(scores["model"], {n: scores[n] for n in baselines}, champion, policy)

    primary = policy.primary_metric

    def slice_score(a: np.ndarray, p: np.ndarray) -> dict[str, Any]:
        scored = headline(task, score(a, p))  # a one-class slice has no AUC: NaN
        return {**scored, "mean_actual": float(np.mean(a))} if task == "regression" else scored

    record = {
        "problem": problem.name,
        "task": task,
        "unit": str(problem.extra.get("unit", spec["target"])),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "test_rows": len(test),
        "primary_metric": primary,
        "scores": scores,
        "baselines": baseline_descriptions(problem, list(baselines)),
        "champion": {k: v for k, v in champion.items() if k != "metrics"} if champion else None,
        "blessing": blessing,
        "slices": metrics_by_slice(test, slices, actual, predicted, slice_score),
        "importance": permutation_importance(
            predict,
            test,
            actual,
            list(problem.features),
            lambda a, p: float(score(a, p)[primary]),
            lower_is_better(primary),
            repeats=repeats,
            seed=seed,
        ),
        "importance_repeats": repeats,
        "classification": {k: full[k] for k in full if k not in scores["model"]} if task != "regression" else None,
        "splits": spec.get("splits", {}),
    }
    return record, prediction_frame(task, test, spec, actual, predicted)


def render_figures(record: dict[str, Any], predictions: pd.DataFrame, history: pd.DataFrame | None) -> dict[str, str]:
    primary = record["primary_metric"]
    figures: dict[str, str] = {}
    if record["task"] == "regression":
        figures["predictions"] = plots.predictions_over_time(predictions, record["unit"])
        figures["residuals"] = plots.residuals(predictions)
    else:
        details = record["classification"]
        figures["confusion"] = plots.confusion_matrix(**details["confusion_matrix"])
        figures["calibration"] = plots.calibration(details["calibration"], "probability")
        if details["curves"]:
            figures["curves"] = plots.roc_pr_curves(details["curves"])
    if record["slices"]:
        figures["slices"] = plots.slice_errors(record["slices"], primary, record["scores"]["model"][primary])
    if record["importance"]:
        figures["importance"] = plots.permutation_importance(record["importance"], primary)
    if history is not None and not history.empty:
        figures["learning_curves"] = plots.learning_curves(history, (record.get("training") or {}).get("best_epoch"))
    return figures


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities as None (strict JSON has no NaN; an undefined score is null)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def metrics_file(record: dict[str, Any]) -> dict[str, Any]:
    """metrics.json: one flat dict of headline scores per model, then the gate's verdict (for `dvc metrics diff`)."""
    blessing = record["blessing"]
    return {**record["scores"], "blessed": blessing["blessed"], "beats_baselines": blessing["beats_baselines"]}


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    if problem.kind == "image":  # images take their own path through this stage
        from tasks import image_evaluate

        return image_evaluate.main(params, problem)
    store = store_from_params(params)
    spec = read_spec()
    train, test = read_split("train"), read_split("test")
    if not MODEL.exists():
        raise PipelineError(f"{MODEL}: not found; run the train stage first")
    # fail on bad params before loading TensorFlow
    read_gate_policy(params, problem.task)
    parse_slices(params.raw("evaluate.slices", None), list(test.columns), params.source)
    score = scorer_from_params(params, problem.task, spec)

    import keras

    model = keras.models.load_model(MODEL)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        out = np.asarray(model.predict(model_inputs(frame, spec), verbose=0, batch_size=2048), dtype="float64")
        return out.ravel() if problem.task == "regression" else out

    actual = test[spec["target"]].to_numpy()
    champion = score_champion(champion_identity(store), test, spec, actual, score, problem.task)
    record, predictions = evaluate(problem, params, spec, train, test, predict, champion)
    # which model this blessing is for: deploy checks it against the exported model's card
    record["blessing"]["candidate"] = {"keras_model_sha256": sha256_path(MODEL)}
    record["training"] = json.loads(TRAIN_SUMMARY.read_text()) if TRAIN_SUMMARY.exists() else None
    history = pd.read_csv(HISTORY) if HISTORY.exists() else None
    html = render_report(record, render_figures(record, predictions, history))

    # File by file (each atomic), the blessing last: DVC keeps its own .gitignore in the report folder.
    write_text(REPORT_DIR / "index.html", html)
    with atomic_file(REPORT_DIR / "predictions.csv") as tmp:
        predictions.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_file(REPORT_DIR / "slices.csv") as tmp:
        frame = pd.DataFrame(record["slices"])
        if not frame.empty:
            frame = frame.assign(slice_value=frame["slice"] + "=" + frame["value"].astype(str))
        frame.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_file(REPORT_DIR / "importance.csv") as tmp:
        pd.DataFrame(record["importance"]).to_csv(tmp, index=False, float_format="%.4f")
    write_text(REPORT_DIR / "evaluation.json", json.dumps(json_safe(record), indent=2, default=str) + "\n")
    write_text(REPORT_DIR / "metrics.json", json.dumps(json_safe(metrics_file(record)), indent=2) + "\n")
    write_text(BLESSING, json.dumps(json_safe(record["blessing"]), indent=2) + "\n")
    primary = record["primary_metric"]
    log.info(
        "test %s model %.3f; %s",
        metric_label(primary),
        record["scores"]["model"][primary],
        "; ".join(record["blessing"]["reasons"]),
    )
    log.info("%s", "BLESSED" if record["blessing"]["blessed"] else "NOT BLESSED: deploy will refuse this model")


if __name__ == "__main__":
    run_stage("evaluate", main)

"""evaluate: score the candidate beside the production model and the baselines on the test split, and bless it or not.

Everything is scored on the same test rows (and candidate and champion also on the champion's trusted holdout, the rows
it was blessed on: tasks/evaluation/holdout.py): the candidate (data/model/model.keras), the champion (the production
model of the model store, loaded as it is served; absent on the first run, see tasks/evaluation/champion.py for why the
store
is not a DVC dependency) and the baselines (the objective's dumbest sensible predictor, the kind's common-sense and
linear ones; tasks/objectives/baselines.py). The gate (tasks/evaluation/gate.py) decides the blessing from the
thresholds in
`evaluate.gate`. The same code runs for every kind of data: scores, figures and baselines vary by objective
(tasks/objectives/), inputs, baselines on them and importance by kind (tasks/kinds/).

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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.artifacts import (
    BLESSING,
    EVALUATION_REPORT_DIR,
    HISTORY,
    MODEL,
    TRAIN_SUMMARY,
    read_spec,
    read_split,
    require,
)
from tasks.core.atomic import atomic_file, write_text
from tasks.core.errors import run_stage
from tasks.core.lineage import sha256_path
from tasks.core.params import Params
from tasks.core.reproducible import rounded
from tasks.evaluation.champion import champion_identity, savedmodel_predictions
from tasks.evaluation.gate import decide_blessing, read_gate_policy
from tasks.evaluation.holdout import HoldoutError, champion_gap, load_holdout, moved_columns, seen_in_training
from tasks.evaluation.page import render_report
from tasks.evaluation.slices import metrics_by_slice, parse_slices
from tasks.kinds import kind_for
from tasks.kinds.selection import model_name, select
from tasks.objectives import OBJECTIVES, objective_for, plots
from tasks.objectives.contract import Scorer
from tasks.objectives.metrics import lower_is_better, metric_label
from tasks.store.location import store_from_params
from tasks.training.fit import as_model_input, model_inputs

REPORT_DIR = EVALUATION_REPORT_DIR
log = logging.getLogger(__name__)


def scorer_from_params(params: Params, spec: dict[str, Any]) -> Scorer:
    """The scorer of the spec's objective, with the binary decision threshold `evaluate.decision_threshold`."""
    threshold = params.get("evaluate.decision_threshold", float, 0.5, minimum=0.0, maximum=1.0)
    return objective_for(spec).scorer(spec, threshold)


def score_champion(
    champion: dict[str, Any] | None,
    test: pd.DataFrame,
    spec: dict[str, Any],
    actual: np.ndarray,
    score: Scorer,
) -> dict[str, Any] | None:
    """The champion identity with its headline `metrics`, or with `error` when it cannot be scored on `test`."""
    if champion is None:
        return None
    objective = objective_for(spec)
    try:
        predicted = objective.predictions(savedmodel_predictions(Path(champion["path"]), test, spec))
        return {**champion, "metrics": objective.headline(score(actual, predicted))}
    except Exception as err:  # any failure means "cannot be compared": the gate fails on it, with this message
        log.warning("production version %s cannot be scored: %s", champion["version"], err)
        return {**champion, "error": f"{type(err).__name__}: {err}"}


def score_on_holdout(
    champion: dict[str, Any] | None,
    card: dict[str, Any] | None,
    predict: Callable[[pd.DataFrame], np.ndarray],
    spec: dict[str, Any],
    score: Scorer,
    training: list[pd.DataFrame] | None = None,
) -> tuple[dict[str, Any] | None, pd.DataFrame | None]:
    """Candidate and champion scored on the champion's trusted holdout (for tasks/evaluation/gate.py's holdout_checks),
    and the holdout rows; (None, None) without a champion. Holdout rows the candidate's `training` splits hold (by
    row id) are left out and counted (`trained_on`): with `featurize.holdout` there are none."""
    if champion is None:
        return None, None
    version = champion["version"]
    try:
        frame = load_holdout(Path(champion["path"]), card)
    except HoldoutError as err:
        return {"version": version, "error": str(err)}, None
    if frame is None:
        absent = "it was stored before holdouts were kept; compared on the new test rows only"
        return {"version": version, "absent": absent}, None
    seen = seen_in_training(frame, training or [], spec)
    if seen.all():
        absent = f"the candidate was trained on all {len(frame)} of its rows; compared on the new test rows only"
        return {"version": version, "absent": absent, "trained_on": int(seen.sum())}, None
    if seen.any():
        log.warning("%d row(s) of version %s's holdout are in the candidate's training: left out", seen.sum(), version)
        frame = frame.loc[~seen].reset_index(drop=True)
    objective = objective_for(spec)
    result: dict[str, Any] = {"version": version, "rows": len(frame), "sha256": (card or {})["holdout"]["sha256"]}
    result["trained_on"] = int(seen.sum())
    try:
        actual = objective.actual(frame, spec)
        result["candidate"] = objective.headline(score(actual, predict(frame)))
    except Exception as err:  # e.g. the candidate's features are not in the old rows: cannot be compared
        return {**result, "error": f"the candidate cannot be scored on it: {type(err).__name__}: {err}"}, None
    try:
        served = savedmodel_predictions(Path(champion["path"]), frame, spec)
        result["champion"] = objective.headline(score(actual, objective.predictions(served)))
    except Exception as err:
        return {**result, "error": f"the champion cannot be scored on it: {type(err).__name__}: {err}"}, None
    return result, frame


def evaluate(
    problem: Any,
    params: Params,
    spec: dict[str, Any],
    train: pd.DataFrame,
    test: pd.DataFrame,
    predict: Callable[[pd.DataFrame], np.ndarray],
    champion: dict[str, Any] | None,
    holdout: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The evaluation record and the predictions table; `champion` already scored (see score_champion), and
    `holdout` the comparison on its trusted holdout (see score_on_holdout).

    `predict` maps a test frame to predictions as the objective scores them (values or class probabilities).
    """
    kind, objective = kind_for(problem), objective_for(spec)
    policy = read_gate_policy(params, objective.task)
    slices = parse_slices(params.raw("evaluate.slices", None), list(test.columns), params.source)
    repeats = params.get("evaluate.permutation_repeats", int, 5, minimum=1)
    seed = params.get("evaluate.seed", int, 0)
    score = scorer_from_params(params, spec)

    actual = objective.actual(test, spec)
    predicted = predict(test)
    full = score(actual, predicted)
    scores = {"model": objective.headline(full)}
    if champion and "metrics" in champion:
        scores["champion"] = champion["metrics"]
    # baselines in report order: the problem's common sense, the objective's dumbest, the kind's linear
    from_kind = kind.baselines(problem, params, train, spec)
    name, dumbest, described = objective.baseline(train, spec)
    baselines = {k: v for k, v in from_kind.items() if k == "common_sense"}
    baselines[name] = (dumbest, described)
    baselines |= {k: v for k, v in from_kind.items() if k != "common_sense"}
    for baseline_name, (baseline, _) in baselines.items():
        scores[baseline_name] = objective.headline(score(actual, baseline(test)))
    blessing = decide_blessing(scores["model"], {n: scores[n] for n in baselines}, champion, policy, holdout)

    primary = policy.primary_metric

    def slice_score(a: np.ndarray, p: np.ndarray) -> dict[str, Any]:
        scored = objective.headline(score(a, p))  # a one-class slice has no AUC: NaN
        return {**scored, "mean_actual": float(np.mean(a))} if objective.task == "regression" else scored

    extra = getattr(problem, "extra", {}) or {}
    record = {
        "problem": problem.name,
        "kind": kind.name,
        "objective": objective.name,
        "task": objective.task,
        "unit": str(extra.get("unit", spec["target"])),
        "test_rows": len(test),
        "primary_metric": primary,
        "scores": scores,
        "baselines": {name: described for name, (_, described) in baselines.items()},
        "champion": {k: v for k, v in champion.items() if k != "metrics"} if champion else None,
        "blessing": blessing,
        "holdout": holdout,
        "slices": metrics_by_slice(test, slices, actual, predicted, slice_score),
        "importance": kind.importance(
            predict,
            test,
            actual,
            lambda a, p: float(score(a, p)[primary]),
            lower_is_better(primary),
            repeats,
            seed,
            spec,
        ),
        "importance_repeats": repeats,
        "classification": {k: full[k] for k in full if k not in scores["model"]}
        if objective.task != "regression"
        else None,
        "splits": spec.get("splits", {}),
    }
    predictions = objective.prediction_frame(kind.prediction_ids(test, spec), actual, predicted, spec)
    record["worst_errors"] = worst_errors(predictions)
    return record, predictions


def worst_errors(predictions: pd.DataFrame, count: int = 10) -> list[dict[str, Any]]:
    """The test rows the model got most wrong, with the kind's ids (a text's ids hold the text itself): for a
    classifier the wrong predictions made with the highest confidence, for a regressor the largest residuals."""
    if "confidence" in predictions:
        wrong = predictions[predictions["predicted"].astype(str) != predictions["actual"].astype(str)]
        worst = wrong.sort_values("confidence", ascending=False, kind="stable")
    else:
        worst = predictions.loc[predictions["residual"].abs().sort_values(ascending=False, kind="stable").index]
    return [
        {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}
        for row in worst.head(count).to_dict("records")
    ]


def render_figures(record: dict[str, Any], predictions: pd.DataFrame, history: pd.DataFrame | None) -> dict[str, str]:
    primary = record["primary_metric"]
    figures = OBJECTIVES[record["objective"]].figures(record, predictions)
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
    selection = select()
    params, problem = selection.params, selection.problem
    store = store_from_params(params, model_name=model_name(selection))  # a folder, or s3://bucket/prefix
    spec = read_spec()
    train, test = read_split("train"), read_split("test")
    require(MODEL)
    # fail on bad params before loading TensorFlow
    objective = objective_for(spec)
    read_gate_policy(params, objective.task)
    parse_slices(params.raw("evaluate.slices", None), list(test.columns), params.source)
    score = scorer_from_params(params, spec)
    champion_id = champion_identity(store)  # a broken production pointer stops here, before any output is touched

    import keras

    model = keras.models.load_model(MODEL)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        inputs = as_model_input(model_inputs(frame, spec))
        return objective.predictions(model.predict(inputs, verbose=0, batch_size=2048))

    champion = score_champion(champion_id, test, spec, objective.actual(test, spec), score)
    card = store.card(champion_id["version"]) if champion_id else None
    # what a table candidate saw (train, val): its rows are left out of the champion's holdout (holdout.py)
    training = [train, read_split("val")] if champion_id and spec.get("kind") == "table" else []
    holdout, holdout_rows = score_on_holdout(champion_id, card, predict, spec, score, training)
    record, predictions = evaluate(problem, params, spec, train, test, predict, champion, holdout)
    if holdout_rows is not None and record["holdout"] is not None:
        columns = [*spec.get("numeric", []), *spec.get("categorical", {}), spec["target"]]
        record["holdout"]["moved_columns"] = moved_columns(test, holdout_rows, columns)
        record["holdout"]["champion_gap"] = champion_gap(
            holdout, (champion or {}).get("metrics"), record["primary_metric"], record["holdout"]["moved_columns"]
        )
        if record["holdout"]["champion_gap"]:
            log.warning("%s", record["holdout"]["champion_gap"])
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
    metrics = rounded(json_safe(metrics_file(record)))  # 4 decimals: what `dvc metrics diff` should show
    write_text(REPORT_DIR / "metrics.json", json.dumps(metrics, indent=2) + "\n")
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

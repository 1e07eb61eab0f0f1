"""evaluate: score the trained model on the held-out test split beside the baselines, and decide the blessing.

Outputs:
- reports/evaluation/metrics.json: RMSE, MAE, R² of the model and each baseline (read by `dvc metrics`);
- reports/evaluation/predictions.csv: time, actual, predicted, residual on the test split (for `dvc plots`);
- reports/evaluation/index.html: one self-contained report;
- data/evaluation/blessing.json: pass/fail plus every reason; `deploy` reads it and deploys only a blessed model.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines import load_problem
from pipelines.problem import TabularProblem
from tasks.atomic import atomic_file, write_text
from tasks.baselines import linear_baseline
from tasks.errors import PipelineError, run_stage
from tasks.metrics import regression_metrics
from tasks.params import Params
from tasks.report_html import figure_to_data_uri, page, table
from tasks.train import model_inputs, read_spec, read_split

MODEL = Path("data/model/model.keras")
REPORT_DIR = Path("reports/evaluation")
BLESSING = Path("data/evaluation/blessing.json")
log = logging.getLogger(__name__)


def score_baselines(
    problem: TabularProblem, train: pd.DataFrame, test: pd.DataFrame, spec: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Predictions of each baseline on `test`, every one fitted on `train` alone."""
    return {
        "common_sense": problem.common_sense_baseline(train)(test),
        "linear": linear_baseline(train, spec)(test),
    }


def decide_blessing(metrics: dict[str, dict[str, float]], require_beating_baselines: bool) -> dict[str, Any]:
    """Bless the model when its RMSE is lower than every baseline's; list a reason for each comparison."""
    model_rmse = metrics["model"]["rmse"]
    reasons, beaten = [], True
    for name, scores in metrics.items():
        if name == "model":
            continue
        wins = model_rmse < scores["rmse"]
        beaten &= wins
        verb = "beats" if wins else "does not beat"
        reasons.append(f"model RMSE {model_rmse:.2f} {verb} {name} baseline RMSE {scores['rmse']:.2f}")
    blessed = beaten or not require_beating_baselines
    if not beaten and not require_beating_baselines:
        reasons.append("evaluate.require_beating_baselines is false: blessed without beating every baseline")
    return {"blessed": blessed, "beats_baselines": beaten, "reasons": reasons}


def plot_predictions(predictions: pd.DataFrame) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    when = pd.to_datetime(predictions["timestamp"])  # stored as text in the CSV for dvc plots
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.plot(when, predictions["actual"], label="actual", lw=1)
    ax.plot(when, predictions["predicted"], label="predicted", lw=1)
    fig.autofmt_xdate()
    ax.set_ylabel("bikers per hour")
    ax.set_title("Test split: predicted vs actual over time")
    ax.legend()
    over_time = figure_to_data_uri(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].scatter(predictions["predicted"], predictions["residual"], s=6, alpha=0.5)
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set_xlabel("predicted")
    axes[0].set_ylabel("residual (predicted - actual)")
    axes[1].hist(predictions["residual"], bins=40)
    axes[1].set_xlabel("residual")
    fig.suptitle("Residuals")
    residuals = figure_to_data_uri(fig)
    return over_time, residuals


def render_report(
    metrics: dict[str, dict[str, float]],
    blessing: dict[str, Any],
    predictions: pd.DataFrame,
    spec: dict[str, Any],
) -> str:
    over_time, residuals = plot_predictions(predictions)
    rows = [[name, s["rmse"], s["mae"], s["r2"]] for name, s in metrics.items()]
    verdict_class = "pass" if blessing["blessed"] else "fail"
    verdict = "BLESSED: may be deployed" if blessing["blessed"] else "NOT BLESSED: will not be deployed"
    splits = spec.get("splits", {})
    split_rows = [[name, s["rows"], s["from"], s["to"]] for name, s in splits.items()]
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in blessing["reasons"])
    return page(
        f"Evaluation: {spec['problem']}",
        [
            ("Headline (test split)", table(["model", "RMSE", "MAE", "R²"], rows)),
            ("Gate", f'<p class="{verdict_class}">{verdict}</p><ul>{reasons}</ul>'),
            ("Predicted vs actual", f'<img alt="predicted vs actual over time" src="{over_time}">'),
            ("Residuals", f'<img alt="residuals" src="{residuals}">'),
            ("Data", table(["split", "rows", "from", "to"], split_rows)),
        ],
        subtitle="Split by time: the model never saw the test period. Baselines are fitted on the training split.",
    )


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    if problem.kind == "image":  # images take their own path through this stage
        from tasks import image_evaluate

        return image_evaluate.main(params, problem)
    require = params.get("evaluate.require_beating_baselines", bool, True)
    spec = read_spec()
    train, test = read_split("train"), read_split("test")
    if not MODEL.exists():
        raise PipelineError(f"{MODEL}: not found; run the train stage first")

    import keras

    model = keras.models.load_model(MODEL)
    actual = test[spec["target"]].to_numpy(dtype="float64")
    predicted = np.asarray(model.predict(model_inputs(test, spec), verbose=0), dtype="float64").ravel()

    metrics = {"model": regression_metrics(actual, predicted)}
    for name, baseline_predictions in score_baselines(problem, train, test, spec).items():
        metrics[name] = regression_metrics(actual, baseline_predictions)
    blessing = decide_blessing(metrics, require)
    predictions = pd.DataFrame(
        {
            "timestamp": test[spec["timestamp"]].astype(str),
            "actual": actual,
            "predicted": predicted,
            "residual": predicted - actual,
        }
    )

    # File by file (each atomic): DVC keeps its own .gitignore in this folder.
    write_text(REPORT_DIR / "index.html", render_report(metrics, blessing, predictions, spec))
    with atomic_file(REPORT_DIR / "predictions.csv") as tmp:
        predictions.to_csv(tmp, index=False, float_format="%.4f")
    write_text(
        REPORT_DIR / "metrics.json",
        json.dumps({**metrics, "beats_baselines": blessing["beats_baselines"]}, indent=2) + "\n",
    )
    write_text(BLESSING, json.dumps(blessing, indent=2) + "\n")
    log.info("test RMSE model %.2f; %s", metrics["model"]["rmse"], "; ".join(blessing["reasons"]))


if __name__ == "__main__":
    run_stage("evaluate", main)

"""The training pipeline as a Prefect flow: the stages of dvc.yaml, one task run each, in DAG order.

    collect -> validate -> featurize -> train -> evaluate -> export -> deploy -> monitor

Each task runs `dvc repro --single-item <stage>`, so outputs, caching and dvc.lock are exactly those of
`dvc repro`. What Prefect adds: retries, schedules, the run history in the UI, a Markdown artefact with the
headline metrics, and an event when monitoring finds drift (`trainline.drift.detected`), which an automation
can turn into a retraining run (see infra/prefect.yaml).

Run against a local server (see README):  PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.training
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event

from flows.dvc_stages import StageRun, repro_stage, stage_order
from tasks.evaluation_summary import headline_markdown

REPO = Path(__file__).resolve().parent.parent
DRIFT_EVENT = "trainline.drift.detected"
REPORT_LINKS = {"all reports": "reports/index.html", "evaluation report": "reports/evaluation/index.html"}


@task(task_run_name="{stage}", retries=0)
def dvc_stage(repo: str, stage: str, force: bool = False) -> StageRun:
    result = repro_stage(Path(repo), stage, force=force)
    get_run_logger().info("stage %s %s", stage, "ran" if result.ran else "was up to date (skipped by DVC)")
    return result


@flow(name="training-pipeline", log_prints=True)
def training_pipeline(repo: str = str(REPO), force: list[str] | None = None) -> dict[str, Any]:
    """Run every stage of the repository's dvc.yaml in order; `force` names stages to re-run regardless."""
    logger = get_run_logger()
    force = force or []
    root = Path(repo)
    runs: dict[str, bool] = {}
    for stage in stage_order(root):
        runs[stage] = dvc_stage.with_options(retries=1 if stage == "train" else 0)(
            str(root), stage, force=stage in force
        ).ran
    summary = summarize(root, runs)
    create_markdown_artifact(key="training-pipeline-summary", markdown=summary["markdown"])
    evaluation = evaluation_markdown(root)
    if evaluation:
        create_markdown_artifact(
            key="evaluation-headline", markdown=evaluation, description="Model gate verdict and headline metrics"
        )
    drift = summary["drift"]
    if drift and drift.get("dataset_drift"):
        emit_event(
            event=DRIFT_EVENT,
            resource={"prefect.resource.id": f"trainline.model.{summary['model']}"},
            payload={"drift_share": drift["drift_share"], "drifted_columns": drift.get("drifted_columns", [])},
        )
        logger.warning("drift detected (share %.2f): emitted %s", drift["drift_share"], DRIFT_EVENT)
    return {k: v for k, v in summary.items() if k != "markdown"}


def summarize(root: Path, runs: dict[str, bool]) -> dict[str, Any]:
    """Stages run, metrics, deploy and drift read from the stages' outputs, plus a Markdown rendering."""
    metrics = _read_json(root / "reports/evaluation/metrics.json") or {}
    receipt = _read_json(root / "data/deploy/receipt.json") or {}
    drift = _read_json(root / "reports/monitoring/drift.json")
    lines = ["# Training pipeline", "", "| stage | ran |", "|---|---|"]
    lines += [f"| {stage} | {'yes' if ran else 'up to date'} |" for stage, ran in runs.items()]
    scores = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    if scores:  # the table itself, for any task, is the evaluation-headline artefact (evaluation_markdown)
        lines += ["", "Metrics and the gate's verdict: see the `evaluation-headline` artefact."]
    if receipt:
        lines += [
            "",
            f"Deploy: {'deployed' if receipt.get('deployed') else 'NOT deployed'}; "
            f"production version {receipt.get('production_version')}. {'; '.join(receipt.get('reasons', []))}",
        ]
    if drift:
        lines += ["", f"Drift: share {drift.get('drift_share', 0):.2f}, dataset drift {drift.get('dataset_drift')}"]
    return {
        "model": receipt.get("model", "model"),
        "stages_run": [s for s, ran in runs.items() if ran],
        "metrics": scores,
        "deploy": receipt,
        "drift": drift,
        "markdown": "\n".join(lines) + "\n",
    }


def evaluation_markdown(root: Path) -> str | None:
    """The evaluation headline (gate verdict, scores of candidate, champion and baselines) with links to the
    reports, from the evaluate stage's outputs; None before evaluate has run."""
    metrics = _read_json(root / "reports/evaluation/metrics.json")
    blessing = _read_json(root / "data/evaluation/blessing.json")
    if not metrics or not blessing:
        return None
    links = {text: (root / path).resolve().as_uri() for text, path in REPORT_LINKS.items() if (root / path).exists()}
    return headline_markdown(metrics, blessing, links)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


if __name__ == "__main__":
    print(json.dumps(training_pipeline(), indent=2, default=str))

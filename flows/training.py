"""The training pipeline as a Prefect flow: the stages of dvc.yaml, one task run each, in DAG order.

    preflight -> collect -> validate -> featurize -> tune -> train -> evaluate -> export -> deploy -> monitor -> report

`preflight` (`python -m tasks.store.preflight`, as `make run` runs it) checks the production pointer first when the DAG
has a deploy stage.

Each task runs `dvc repro --single-item <stage>`, so outputs, caching and dvc.lock are exactly those of
`dvc repro`. What Prefect adds: per-stage retries with backoff and timeouts (`orchestrate:` in params.yaml,
flows/orchestration_settings.py), a stage sent to another work pool (flows/remote_stage.py), one run per workspace
at a time (flows/workspace_lock.py), artefacts (the headline metrics, the gate's verdict, a link per report, the
run's lineage: git commit, dvc.lock hash, model version), and the drift event (`trainline.drift.detected`) that
starts the retraining deployment (infra/prefect.yaml).

Run against a local server (see README):  PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.training
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.artifacts import lineage, publish_lineage, publish_report_links
from flows.drift_event import DRIFT_EVENT, MONITOR_STAGE, emit_drift
from flows.dvc_stages import (
    StageRun,
    changed_stages,
    repro_stage,
    run_dvc_command,
    stage_order,
    upstream_stages,
)
from flows.orchestration_settings import OrchestrationSettings, StagePolicy, load_settings
from flows.workspace_lock import workspace_lock
from tasks.evaluation.summary import headline_markdown

__all__ = ["DRIFT_EVENT", "training_pipeline"]

REPO = Path(__file__).resolve().parent.parent
REPORT_LINKS = {"all reports": "reports/index.html", "evaluation report": "reports/evaluation/index.html"}


@task(task_run_name="{stage}")
def dvc_stage(repo: str, stage: str, force: bool = False, timeout_s: float | None = None) -> StageRun:
    result = repro_stage(Path(repo), stage, force=force, timeout_s=timeout_s)
    get_run_logger().info("stage %s %s", stage, "ran" if result.ran else "was up to date (skipped by DVC)")
    return result


def run_stage(root: Path, stage: str, policy: StagePolicy, force: bool) -> StageRun:
    """One stage with its policy: here through DVC, or on a worker of `policy.pool`."""
    if policy.pool:
        from flows.remote_stage import dispatch_stage

        return dispatch_stage(root, stage, policy, force=force)
    return dvc_stage.with_options(retries=policy.retries, retry_delay_seconds=policy.retry_delays() or 0)(
        str(root), stage, force=force, timeout_s=policy.timeout_s
    )


PREFLIGHT_TIMEOUT_S = 120.0


@task(task_run_name="preflight")
def preflight(repo: str) -> str:
    """`python -m tasks.store.preflight`, as `make run` does before `dvc repro`: a corrupt or dangling production
    pointer
    stops the flow before any stage runs, with the message naming the file and the repair (StageFailed)."""
    return run_dvc_command(
        Path(repo), [sys.executable, "-m", "tasks.store.preflight"], PREFLIGHT_TIMEOUT_S, what="preflight"
    )


@task(task_run_name="{stage}")
def up_to_date_stage(stage: str) -> StageRun:
    get_run_logger().info("stage %s was up to date (dvc status), and no stage before it ran", stage)
    return StageRun(stage=stage, ran=False, output="")


def run_stages(root: Path, stages: list[str], settings: OrchestrationSettings, force: list[str]) -> dict[str, bool]:
    """Run `stages` in order; stage -> whether it ran (False: DVC found it up to date).

    One `dvc status` first: a stage it finds unchanged, none of whose upstream stages ran in this flow run, is
    up to date without starting DVC for it (a no-op run costs one DVC call, not one per stage)."""
    changed = changed_stages(root)
    upstream = upstream_stages(root) if changed is not None else {}
    runs: dict[str, bool] = {}
    for stage in stages:
        policy = settings.for_stage(stage)
        ran_before = {name for name, ran in runs.items() if ran}
        if changed is not None and stage not in changed and stage not in force and not upstream[stage] & ran_before:
            runs[stage] = up_to_date_stage(stage).ran
        else:
            runs[stage] = run_stage(root, stage, policy, stage in force).ran
    return runs


def flow_run_holder(default: str) -> str:
    """This flow run's name and id, for the workspace lock's message to a run that has to wait."""
    from prefect.runtime import flow_run

    name, run_id = flow_run.get_name(), flow_run.get_id()
    return f"flow run '{name}' ({run_id})" if run_id else default


@flow(name="training-pipeline", log_prints=True)
def training_pipeline(repo: str = str(REPO), force: list[str] | None = None) -> dict[str, Any]:
    """Run every stage of the repository's dvc.yaml in order; `force` names stages to re-run regardless."""
    root = Path(repo)
    stages = stage_order(root)
    settings = load_settings(root, stages)
    with workspace_lock(root, flow_run_holder("training-pipeline"), wait_s=settings.lock_wait_s):
        return train_and_publish(root, stages, settings, force or [])


def train_and_publish(
    root: Path, stages: list[str], settings: OrchestrationSettings, force: list[str]
) -> dict[str, Any]:
    """The body shared by the training and retraining flows (the caller holds the workspace lock)."""
    logger = get_run_logger()
    if "deploy" in stages:  # a DAG that deploys reads the production pointer: check it before any stage runs
        preflight(str(root))
    runs = run_stages(root, stages, settings, force)
    summary = summarize(root, runs)
    create_markdown_artifact(key="training-pipeline-summary", markdown=summary["markdown"])
    evaluation = evaluation_markdown(root)
    if evaluation:
        create_markdown_artifact(
            key="evaluation-headline", markdown=evaluation, description="Model gate verdict and headline metrics"
        )
    summary["reports"] = publish_report_links(root)
    summary["lineage"] = lineage(root)
    publish_lineage(summary["lineage"])
    drift = summary["drift"]
    # Only a new measurement is news: a run where DVC found monitor up to date does not repeat an old alert.
    if runs.get(MONITOR_STAGE) and emit_drift(summary["model"], drift or {}):
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

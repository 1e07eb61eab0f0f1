"""The retraining flow: the training pipeline started by the drift event, with the event's `reason` and payload.

Before it collects, it moves the data window forward by the policy in tasks/monitoring/retraining.py (collect.as_of to
the end of the drifted window) and records the move in the `retraining-window` artefact and its result. The
deployment's trigger (infra/prefect.yaml) deduplicates a burst of alerts into one run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.dvc_stages import stage_order
from flows.orchestration_settings import load_settings
from flows.training import REPO, flow_run_holder, train_and_publish
from flows.workspace_lock import workspace_lock
from tasks.monitoring.retraining import advance_as_of


@flow(name="retraining", log_prints=True)
def retraining_pipeline(
    reason: str = "manual", payload: dict[str, Any] | None = None, repo: str = str(REPO)
) -> dict[str, Any]:
    """Move collect.as_of by the window policy, then run the training pipeline; `payload` is the drift event's."""
    root = Path(repo)
    stages = stage_order(root)
    settings = load_settings(root, stages)
    with workspace_lock(root, flow_run_holder("retraining"), wait_s=settings.lock_wait_s):
        shift = advance_as_of(root / "params.yaml", payload)
        get_run_logger().info(
            "retraining (%s): collect.as_of %s -> %s (%s)", reason, shift.previous_as_of, shift.as_of, shift.rule
        )
        record = {"reason": reason, "window": shift.as_dict(), "payload": payload or {}}
        create_markdown_artifact(
            key="retraining-window",
            markdown=f"# Retraining\n\n```json\n{json.dumps(record, indent=2, default=str)}\n```\n",
            description="why this retraining ran and how it moved the data window",
        )
        result = train_and_publish(root, stages, settings, force=[])
    return {**result, "retraining": record}


if __name__ == "__main__":
    print(json.dumps(retraining_pipeline(), indent=2, default=str))

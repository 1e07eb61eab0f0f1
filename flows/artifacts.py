"""What a flow run shows in the Prefect UI besides its logs: a link per report and the run's lineage."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

# key: (path, what it is). Keys are Prefect artefact keys: lowercase letters, digits and dashes.
REPORTS = {
    "validation-report": ("reports/validation/index.html", "Great Expectations Data Docs of the last validation"),
    "training-history": ("reports/training/history.png", "loss and metric per epoch"),
    "evaluation-report": ("reports/evaluation/index.html", "candidate vs production vs baselines, the gate"),
    "drift-report": ("reports/monitoring/drift.html", "Evidently drift of the new data against training data"),
    "production-monitoring": ("reports/monitoring/index.html", "production windows: trend per signal, verdicts"),
    "reports-index": ("reports/index.html", "every report, newest first"),
}


def publish_report_links(root: Path, keys: list[str] | None = None) -> list[str]:
    """One link artefact per report that exists under `root` (file URIs: the reports open offline)."""
    from prefect.artifacts import create_link_artifact

    published = []
    for key in keys or list(REPORTS):
        path, description = REPORTS[key]
        report = root / path
        if report.exists():
            create_link_artifact(link=report.resolve().as_uri(), link_text=path, key=key, description=description)
            published.append(key)
    return published


def lineage(root: Path) -> dict[str, Any]:
    """The git commit (and whether the working copy differs from it), the sha256 of dvc.lock and the model version
    the run ended with (the deploy receipt's production version)."""
    receipt = _read_json(root / "data/deploy/receipt.json") or {}
    lock = root / "dvc.lock"
    return {
        "git_commit": _git(root, "rev-parse", "HEAD"),
        "git_dirty": bool(_git(root, "status", "--porcelain", "--untracked-files=no")),
        "dvc_lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else None,
        "model": receipt.get("model"),
        "model_version": receipt.get("production_version"),
        "deployed": receipt.get("deployed"),
    }


def lineage_markdown(record: dict[str, Any]) -> str:
    rows = "".join(f"| {key} | `{value}` |\n" for key, value in record.items())
    return f"# Run lineage\n\n| what | value |\n|---|---|\n{rows}"


def publish_lineage(record: dict[str, Any]) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        key="run-lineage", markdown=lineage_markdown(record), description="git commit, dvc.lock hash, model version"
    )


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None

"""The flow's run summary reads any problem's outputs (no Prefect server needed: a pure function)."""

from __future__ import annotations

import json
from pathlib import Path

from flows.training import summarize


def test_summary_of_a_classification_run_lists_stages_and_drift(tmp_path: Path) -> None:
    (tmp_path / "reports/evaluation").mkdir(parents=True)
    (tmp_path / "reports/monitoring").mkdir(parents=True)
    metrics = {"model": {"accuracy": 0.91, "macro_f1": 0.9}, "majority": {"accuracy": 0.1}, "blessed": True}
    (tmp_path / "reports/evaluation/metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "reports/monitoring/drift.json").write_text(json.dumps({"drift_share": 0.2, "dataset_drift": False}))

    summary = summarize(tmp_path, {"train": True, "evaluate": False})

    assert summary["stages_run"] == ["train"]
    assert summary["metrics"] == {"model": {"accuracy": 0.91, "macro_f1": 0.9}, "majority": {"accuracy": 0.1}}
    assert "| train | yes |" in summary["markdown"] and "| evaluate | up to date |" in summary["markdown"]
    assert "Drift: share 0.20, dataset drift False" in summary["markdown"]

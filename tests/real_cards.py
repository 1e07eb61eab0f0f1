"""Real model cards for store tests: the export stage's own card (`tasks.training.export.model_card`) over a
metrics.json and
a blessing written as the evaluate stage writes them (`tasks.evaluation.evaluate.metrics_file`, the gate's
`decide_blessing`
under the problem's own `evaluate.gate` params), beside a tiny real SavedModel (tests/tiny_export.py), deployed with
`tasks.store.deploy.deploy` so each version's deployment.json is the one deploy writes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import tasks.training.export as export
from tasks.core.params import Params
from tasks.core.reproducible import rounded
from tasks.evaluation.evaluate import metrics_file
from tasks.evaluation.gate import decide_blessing, read_gate_policy
from tasks.store.deploy import deploy
from tasks.store.model_store import StoreBase
from tests.tiny_export import write_tiny_export

REPO = Path(__file__).resolve().parents[1]
CARD_PARAMS = Params({"collect": {"source": "x"}, "featurize": {}, "train": {"epochs": 1}})

SPECS: dict[str, dict[str, Any]] = {
    "bike_demand": {
        "kind": "table",
        "task": "regression",
        "target": "bikers",
        "numeric": {"temp": {}},
        "categorical": {"hr": {"dtype": "int64"}},
    },
    "breast_cancer": {
        "kind": "table",
        "task": "classification",
        "target": "diagnosis",
        "classes": ["benign", "malignant"],
        "numeric": {"radius_mean": {}},
        "categorical": {},
    },
    "fashion_mnist": {
        "kind": "image",
        "task": "classification",
        "target": "label",
        "image_shape": [28, 28],
        "classes": [str(n) for n in range(10)],
    },
    "movie_reviews": {
        "kind": "text",
        "task": "classification",
        "target": "label",
        "classes": ["negative", "positive"],
        "ngrams": 2,
        "vocabulary": ["good", "bad"],
    },
    "weather_forecast": {
        "kind": "series",
        "task": "regression",
        "target": "temp_next",
        "lookback_hours": 24,
        "columns": ["temp", "humidity"],
    },
}
# the candidate's test scores and one baseline's, as objective.headline gives them
SCORES = {
    "regression": ({"rmse": 41.234567, "mae": 29.5, "r2": 0.81}, {"rmse": 120.0, "mae": 95.0, "r2": 0.0}),
    "classification": (
        {"accuracy": 0.9649, "macro_f1": 0.96, "log_loss": 0.11, "roc_auc": 0.99},
        {"accuracy": 0.62, "macro_f1": 0.38, "log_loss": 0.66, "roc_auc": 0.5},
    ),
}


def problem_params(problem: str) -> Params:
    own = yaml.safe_load((REPO / "pipelines" / problem / "params.yaml").read_text())
    return Params(own, f"pipelines/{problem}/params.yaml")


def real_export(
    root: Path, monkeypatch: pytest.MonkeyPatch, problem: str, weights: bytes, champion: int | None, shift: float = 0
) -> tuple[Path, dict[str, Any], str]:
    """An export as the DAG leaves it (a tiny SavedModel, the export stage's card over evaluate's metrics.json and
    blessing); returns (export folder, blessing, sha256 of the training split)."""
    spec = {**SPECS[problem], "problem": problem}
    policy = read_gate_policy(problem_params(problem), spec["task"])
    model, baseline = SCORES[spec["task"]]
    model = {k: v + shift for k, v in model.items()}
    blessing = decide_blessing(model, {"mean": baseline}, None, policy)
    blessing["champion"] = {"version": champion} if champion else None  # measured against production, as evaluate
    work = root / "work"
    (work / "features").mkdir(parents=True)
    (work / "features/train.parquet").write_bytes(b"training rows of " + weights)
    (work / "model.keras").write_bytes(b"weights " + weights)
    (work / "blessing.json").write_text(json.dumps(blessing))
    (work / "metrics.json").write_text(
        json.dumps(rounded(metrics_file({"scores": {"model": model, "mean": baseline}, "blessing": blessing})))
    )
    for name, path in (("FEATURES_DIR", "features"), ("MODEL", "model.keras"), ("BLESSING", "blessing.json")):
        monkeypatch.setattr(export, name, work / path)
    monkeypatch.setattr(export, "METRICS", work / "metrics.json")
    card = export.model_card(spec, CARD_PARAMS, 0.0)
    train_sha = hashlib.sha256((work / "features/train.parquet").read_bytes()).hexdigest()
    return write_tiny_export(root / "export", weights, json.dumps(card, indent=2)), blessing, train_sha


def deploy_three(store: StoreBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str) -> list[str]:
    """Versions 1-3 deployed one after the other (3 in production); returns each one's training data sha256."""
    hashes = []
    for n in (1, 2, 3):
        current = store.production()
        export_dir, blessing, sha = real_export(
            tmp_path / f"e{n}", monkeypatch, problem, f"w{n}".encode(), current and current["version"], n / 1000
        )
        receipt = deploy(store, export_dir, blessing)
        assert receipt["deployed"] and receipt["production_version"] == n, receipt
        hashes.append(sha)
    return hashes

"""Where every artefact of the DAG lives, written once, and the readers that say which stage makes a missing one.

Every stage and every kind (tasks/kinds/) takes its paths from here; dvc.yaml lists the same paths as outs and deps.
The same layout serves every kind of data: `data/raw/data.parquet` holds a table's rows or an image kind's
(split, label, image bytes) rows alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.atomic import atomic_dir
from tasks.core.errors import PipelineError

RAW_DIR = Path("data/raw")
RAW = RAW_DIR / "data.parquet"
RAW_MANIFEST = RAW_DIR / "manifest.json"
VALIDATED_DIR = Path("data/validated")
VALIDATED = VALIDATED_DIR / "data.parquet"
VALIDATION_REPORT_DIR = Path("reports/validation")
QUARANTINE_DIR = Path("data/quarantine")
FEATURES_DIR = Path("data/features")
SPEC = FEATURES_DIR / "spec.json"
SPLITS = ("train", "val", "test")
TUNING_DIR = Path("data/tuning")
TUNING = TUNING_DIR / "best.json"
MODEL_DIR = Path("data/model")
MODEL = MODEL_DIR / "model.keras"
HISTORY = MODEL_DIR / "history.csv"
TRAIN_SUMMARY = MODEL_DIR / "train.json"
TRAINING_REPORT_DIR = Path("reports/training")
EVALUATION_REPORT_DIR = Path("reports/evaluation")
METRICS = EVALUATION_REPORT_DIR / "metrics.json"
BLESSING = Path("data/evaluation/blessing.json")
EXPORT_DIR = Path("data/export")
SAVEDMODEL = EXPORT_DIR / "savedmodel"
MODEL_CARD = EXPORT_DIR / "model_card.json"
RECEIPT = Path("data/deploy/receipt.json")
MONITORING_REPORT_DIR = Path("reports/monitoring")

# The stage that writes each artefact (a path, or the folder it lies in), for "run the X stage first".
PRODUCERS: dict[Path, str] = {
    RAW_DIR: "collect",
    VALIDATED_DIR: "validate",
    FEATURES_DIR: "featurize",
    TUNING_DIR: "tune",
    MODEL_DIR: "train",
    EVALUATION_REPORT_DIR: "evaluate",
    BLESSING.parent: "evaluate",
    EXPORT_DIR: "export",
    RECEIPT.parent: "deploy",
}


def producer(path: Path) -> str:
    """The stage that writes `path` ("an earlier" when none is known)."""
    for candidate in (path, *path.parents):
        if candidate in PRODUCERS:
            return PRODUCERS[candidate]
    return "an earlier"


def require(path: Path) -> Path:
    """`path`, or a PipelineError naming the stage to run when it does not exist."""
    if not path.exists():
        raise PipelineError(f"{path}: not found; run the {producer(path)} stage first")
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(require(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise PipelineError(f"{path}: not valid JSON ({err}); run the {producer(path)} stage again") from None


def read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(require(path))


def read_split(name: str, features_dir: Path = FEATURES_DIR) -> pd.DataFrame:
    """One split of data/features (train, val or test)."""
    return read_parquet(features_dir / f"{name}.parquet")


def read_spec(features_dir: Path = FEATURES_DIR) -> dict[str, Any]:
    """The feature spec featurize fitted on the training split."""
    return read_json(features_dir / "spec.json")


def write_raw(rows: pd.DataFrame, manifest: dict[str, Any]) -> None:
    """data/raw as collect leaves it for every kind: the rows and their manifest, replaced together or not at all."""
    with atomic_dir(RAW_DIR) as tmp:
        rows.to_parquet(tmp / RAW.name, index=False)
        (tmp / RAW_MANIFEST.name).write_text(json.dumps(manifest, indent=2) + "\n")


def write_features(splits: dict[str, pd.DataFrame], spec: dict[str, Any]) -> None:
    """data/features as featurize leaves it for every kind: one Parquet file per split and the spec fitted on the
    training split, replaced together or not at all (`spec.json` is SPEC's name)."""
    with atomic_dir(FEATURES_DIR) as tmp:
        for name, part in splits.items():
            part.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / SPEC.name).write_text(json.dumps(spec, indent=2) + "\n")

"""featurize: split validated data by time and fit the feature statistics on the training part only.

Outputs (data/features/): `train.parquet`, `val.parquet`, `test.parquet` (time, features, target; in time order,
never shuffled across time) and `spec.json`: numeric means/variances and category vocabularies fitted on `train`,
which the model's preprocessing layers are built from.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import load_problem
from pipelines.problem import TabularProblem
from tasks.atomic import atomic_dir
from tasks.errors import PipelineError, run_stage
from tasks.params import Params

VALIDATED = Path("data/validated/data.parquet")
OUT_DIR = Path("data/features")
SPLITS = ("train", "val", "test")
log = logging.getLogger(__name__)


def split_by_time(
    frame: pd.DataFrame, timestamp: str, val_fraction: float, test_fraction: float
) -> dict[str, pd.DataFrame]:
    """Split into train, then validation, then test, by time: every train row is earlier than every val row,
    and every val row earlier than every test row."""
    if val_fraction + test_fraction >= 1:
        raise PipelineError(
            f"params.yaml: featurize.val_fraction + featurize.test_fraction must be < 1, "
            f"got {val_fraction} + {test_fraction}"
        )
    ordered = frame.sort_values(timestamp, kind="stable").reset_index(drop=True)
    n = len(ordered)
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    n_train = n - n_val - n_test
    if min(n_train, n_val, n_test) < 1:
        raise PipelineError(f"featurize: {n} rows are too few to split into train/val/test by time")
    return {
        "train": ordered.iloc[:n_train].reset_index(drop=True),
        "val": ordered.iloc[n_train : n_train + n_val].reset_index(drop=True),
        "test": ordered.iloc[n_train + n_val :].reset_index(drop=True),
    }


def fit_feature_spec(train: pd.DataFrame, problem: TabularProblem) -> dict[str, Any]:
    """Statistics the model's preprocessing needs, from the training split alone."""
    numeric = {
        name: {"mean": float(train[name].mean()), "variance": float(train[name].var(ddof=0))}
        for name in problem.numeric_features
    }
    categorical = {}
    for name in problem.categorical_features:
        column = train[name]
        is_string = pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
        values = sorted(column.dropna().unique().tolist())
        categorical[name] = {
            "dtype": "string" if is_string else "int64",
            "vocabulary": [str(v) for v in values] if is_string else [int(v) for v in values],
        }
    return {
        "problem": problem.name,
        "task": problem.task,
        "target": problem.target,
        "timestamp": problem.timestamp,
        "numeric": numeric,
        "categorical": categorical,
        "train_rows": len(train),
    }


def main() -> None:
    params = Params.load()
    problem = load_problem(params.get("problem", str))
    if problem.kind == "image":  # images take their own path through this stage
        from tasks import image_featurize

        return image_featurize.main(params, problem)
    val_fraction = params.get("featurize.val_fraction", float, minimum=0.01, maximum=0.9)
    test_fraction = params.get("featurize.test_fraction", float, minimum=0.01, maximum=0.9)
    try:
        frame = pd.read_parquet(VALIDATED)
    except FileNotFoundError:
        raise PipelineError(f"{VALIDATED}: not found; run the validate stage first") from None

    splits = split_by_time(frame, problem.timestamp, val_fraction, test_fraction)
    spec = fit_feature_spec(splits["train"], problem)
    spec["splits"] = {
        name: {
            "rows": len(part),
            "from": str(part[problem.timestamp].min()),
            "to": str(part[problem.timestamp].max()),
        }
        for name, part in splits.items()
    }
    with atomic_dir(OUT_DIR) as tmp:
        for name, part in splits.items():
            part.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "spec.json").write_text(json.dumps(spec, indent=2) + "\n")
    log.info("split %s", {k: v["rows"] for k, v in spec["splits"].items()})


if __name__ == "__main__":
    run_stage("featurize", main)

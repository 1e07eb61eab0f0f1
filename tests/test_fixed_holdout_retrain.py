"""The fixed holdout through a whole retrain (slow; its fast counterpart is tests/test_fixed_holdout.py, which runs
featurize alone twice): featurize -> train -> evaluate -> export -> deploy on the bike rows as of 2011-05-01 (version
1, no champion), then again as of 2011-05-31 (the retrain after a drift event). Proved by row ids: the holdout
stored with both versions is one set, none of it is in the retrain's train or val split, and the retrain's gate
scored candidate and champion on those rows (version 1's stored holdout).

Runs the stages in-process (TensorFlow imported once) in a temporary workspace whose validated data is built from the
bundled source (collect and validate are not under test).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.kinds.table_checks import feature_view
from tasks.kinds.table_holdout import id_columns, row_ids
from tasks.kinds.table_source import select_before
from tests.workspace_params import copy_params, set_params

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(1200)]
FIRST, RETRAIN = "2011-05-01", "2011-05-31"
BASE = {"evaluate.permutation_repeats": 1, "train.epochs": 40, "train.patience": 10, "train.tensorboard": False}


def run_as_of(root: Path, source: pd.DataFrame, as_of: str, **changes: Any) -> dict[str, Any]:
    """featurize..deploy in `root` on the bike rows before `as_of`; what they wrote."""
    import tasks.evaluation.evaluate
    import tasks.features.featurize
    import tasks.store.deploy
    import tasks.training.export
    import tasks.training.train

    copy_params(root)
    set_params(root, {**BASE, "collect.as_of": as_of, **changes})
    validated = root / "data/validated/data.parquet"
    validated.parent.mkdir(parents=True, exist_ok=True)
    feature_view(select_before(source, PROBLEM, pd.Timestamp(as_of)), PROBLEM).to_parquet(validated, index=False)
    stages = (tasks.features.featurize, tasks.training.train, tasks.evaluation.evaluate)
    with contextlib.chdir(root):
        for stage in (*stages, tasks.training.export, tasks.store.deploy):
            stage.main()
        return {
            "features": {name: pd.read_parquet(f"data/features/{name}.parquet") for name in ("train", "val", "test")},
            "evaluation": json.loads(Path("reports/evaluation/evaluation.json").read_text()),
            "receipt": json.loads(Path("data/deploy/receipt.json").read_text()),
        }


def ids(frame: pd.DataFrame) -> set[int]:
    return set(row_ids(frame, id_columns(PROBLEM, frame)).tolist())


def test_the_holdout_stays_out_of_training_through_a_retrain_and_the_gate_scores_on_it(
    bike_source: pd.DataFrame, tmp_path: Path
) -> None:
    from tasks.evaluation.holdout import load_holdout
    from tasks.store.model_store import ModelStore

    first = run_as_of(tmp_path, bike_source, FIRST)
    assert first["receipt"]["deployed"], first["receipt"]
    # the retrain is deployed whatever the gate says, so that its stored holdout can be read too
    retrain = run_as_of(
        tmp_path,
        bike_source,
        RETRAIN,
        **{"evaluate.gate.override": True, "evaluate.gate.override_reason": "test: store the retrain's version"},
    )
    assert retrain["receipt"]["deployed"], retrain["receipt"]

    store = ModelStore(tmp_path / "data/model_store", "bike_demand")
    stored = {v: load_holdout(store.version_dir(v), store.card(v)) for v in (1, 2)}  # hash-checked
    assert stored[1] is not None and stored[2] is not None
    holdout = ids(stored[1])
    assert len(holdout) == 418 and ids(stored[2]) == holdout  # one fixed set, stored with both versions
    assert store.card(2)["holdout"]["fixed"] == store.card(1)["holdout"]["fixed"]
    for name in ("train", "val"):
        assert not holdout & ids(retrain["features"][name]), f"holdout rows in the retrain's {name}.parquet"
    assert not holdout & ids(retrain["features"]["test"])  # the retrain's test rows are all newer
    # the retrain's gate compared candidate and champion on version 1's holdout: rows the candidate never saw
    scored = retrain["evaluation"]["holdout"]
    assert scored["version"] == 1 and scored["rows"] == 418 and "candidate" in scored and "champion" in scored
    assert scored["trained_on"] == 0  # the gate's guard found none of them in the candidate's train or val
    assert any(c["check"] == "holdout" for c in retrain["evaluation"]["blessing"]["checks"])

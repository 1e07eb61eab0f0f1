"""The fixed holdout (issue 24 item 5, tasks/kinds/table_holdout.py): chosen once per problem, by time for a problem
with time, it never enters train or val, also after a retrain on newer data; proved here by row ids.

featurize runs for real on the bundled bike source collected as of 2011-05-01 (the first version), then as of
2011-05-31 (the retrain the monitoring loop starts after a drift event). The whole DAG's retrain (train, evaluate,
export, deploy twice, the gate scoring on the stored holdout) is tests/test_fixed_holdout_retrain.py (slow).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines import load_problem
from pipelines.bike_demand import PROBLEM
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.kinds.table_checks import feature_view
from tasks.kinds.table_holdout import held, id_columns, ids_digest, read_holdout_rule, row_ids
from tasks.kinds.table_source import select_before
from tasks.kinds.table_split import featurize, split_by_time
from tests.workspace_params import copy_params, set_params

pytestmark = pytest.mark.timeout(120)
FIRST, RETRAIN = "2011-05-01", "2011-05-31"


def featurize_as_of(root: Path, source: pd.DataFrame, as_of: str, **changes: Any) -> dict[str, pd.DataFrame]:
    """featurize (the stage's own function) in `root` on the bike rows before `as_of`, as validate leaves them;
    returns the Parquet files it wrote, by name (spec.json as `spec`)."""
    root.mkdir(parents=True, exist_ok=True)
    copy_params(root)
    set_params(root, {"collect.as_of": as_of, **changes})
    validated = root / "data/validated/data.parquet"
    validated.parent.mkdir(parents=True, exist_ok=True)
    feature_view(select_before(source, PROBLEM, pd.Timestamp(as_of)), PROBLEM).to_parquet(validated, index=False)
    with contextlib.chdir(root):
        featurize(PROBLEM, Params.load("params.yaml"))
    out = root / "data/features"
    written: dict[str, Any] = {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}
    return written | {"spec": json.loads((out / "spec.json").read_text())}


def ids(frame: pd.DataFrame) -> set[int]:
    return set(row_ids(frame, id_columns(PROBLEM, frame)).tolist())


@pytest.fixture(scope="module")
def runs(bike_source: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("fixed_holdout")
    return {as_of: featurize_as_of(root / as_of, bike_source, as_of) for as_of in (FIRST, RETRAIN)}


def test_no_holdout_row_enters_train_or_val_after_a_retrain_on_newer_data(runs: dict[str, dict[str, Any]]) -> None:
    first, retrain = runs[FIRST], runs[RETRAIN]
    holdout = ids(first["holdout"])
    assert len(holdout) == len(first["holdout"]) == 418  # one id per row: no two rows collide
    assert ids(retrain["holdout"]) == holdout  # the same set both times
    assert retrain["spec"]["holdout"]["row_ids_sha256"] == first["spec"]["holdout"]["row_ids_sha256"]
    for name in ("train", "val"):
        assert not holdout & ids(retrain[name]), f"holdout rows in the retrain's {name}.parquet"
        assert not holdout & ids(first[name])
    # the retrain really is on newer data, and its test split is the newest rows, none of the holdout's
    assert retrain["test"].timestamp.min() > first["holdout"].timestamp.max()
    assert len(retrain["train"]) + len(retrain["val"]) + len(retrain["test"]) + 418 == 2454 + 526 + 526


def test_without_the_fixed_holdout_the_first_test_rows_leak_into_the_retrains_training(
    bike_source: pd.DataFrame, runs: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """What the fixed holdout prevents: the time split alone moves the first version's test rows into training."""
    first_test = ids(runs[FIRST]["test"])
    frame = feature_view(select_before(bike_source, PROBLEM, pd.Timestamp(RETRAIN)), PROBLEM)
    plain = split_by_time(frame, "timestamp", 0.15, 0.15)
    leaked = first_test & (ids(plain["train"]) | ids(plain["val"]))
    assert len(leaked) == 418


def test_the_first_versions_splits_are_the_plain_time_split_and_its_holdout_is_its_test_split(
    bike_source: pd.DataFrame, runs: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    first = runs[FIRST]
    frame = feature_view(select_before(bike_source, PROBLEM, pd.Timestamp(FIRST)), PROBLEM)
    for name, part in split_by_time(frame, "timestamp", 0.15, 0.15).items():
        pd.testing.assert_frame_equal(first[name], part)
    pd.testing.assert_frame_equal(first["holdout"], first["test"])
    assert first["spec"]["holdout"] == {
        "rule": {"from": "2011-04-13T14:00:00", "to": "2011-05-01T00:00:00"},
        "rows": 418,
        "row_ids_sha256": ids_digest(row_ids(first["test"], id_columns(PROBLEM, first["test"]))),
        "in_test": 418,
        "from": "2011-04-13 14:00:00",
        "to": "2011-04-30 23:00:00",
    }
    assert set(first["spec"]["splits"]) == {"train", "val", "test"}


def test_a_row_id_is_its_content_not_its_position_or_dtype() -> None:
    frame = pd.DataFrame({"timestamp": pd.to_datetime(["2011-01-01", "2011-01-02"]), "hr": [3, 4], "bikers": [1, 2]})
    shuffled = frame.iloc[::-1].reset_index(drop=True).assign(hr=[4.0, 3.0], source_line=[9, 8])
    columns = ["timestamp", "hr", "bikers"]
    assert row_ids(frame, columns).tolist() == row_ids(shuffled, columns).tolist()[::-1]
    assert len(set(row_ids(frame.assign(bikers=[1, 1]), columns).tolist())) == 2  # the time tells them apart


def test_a_problem_without_time_holds_rows_by_row_id_so_new_rows_move_none(tmp_path: Path) -> None:
    problem = load_problem("breast_cancer")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.normal(size=2000).round(3) for c in problem.numeric_features})
    frame = frame.assign(**{c: "a" for c in problem.categorical_features}, **{problem.target: rng.integers(0, 2, 2000)})
    rule = read_holdout_rule(Params({"featurize": {"holdout": {"fraction": 0.2, "seed": 3}}}), problem)
    assert rule is not None
    first, later = held(frame.iloc[:1200], rule, problem), held(frame.iloc[::-1], rule, problem)[::-1]
    assert (later[:1200] == first).all()  # more rows, another order: the first rows are held exactly as before
    assert 0.17 < later.mean() < 0.23
    other_seed = read_holdout_rule(Params({"featurize": {"holdout": {"fraction": 0.2, "seed": 4}}}), problem)
    assert other_seed is not None and (held(frame, other_seed, problem) != later).any()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"from": "soon", "to": "2011-05-01"}, r"'featurize\.holdout\.from' must be a date or datetime.*'soon'"),
        ({"from": "2011-05-01", "to": "2011-04-01"}, r"'featurize\.holdout': 'from' .* must be before 'to'"),
        ({"fraction": 0.1}, r"'featurize\.holdout' must be a mapping \{from: <time>, to: <time>\}"),
        ("2011-04-13", r"'featurize\.holdout' must be a mapping"),
    ],
)
def test_a_bad_holdout_is_refused_naming_the_key(value: Any, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        read_holdout_rule(Params({"featurize": {"holdout": value}}, "pipelines/bike_demand/params.yaml"), PROBLEM)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"fraction": 0.9}, r"'featurize\.holdout\.fraction' must be a number in \(0, 0\.5\]"),
        ({"fraction": 0.1, "seed": -1}, r"'featurize\.holdout\.seed' must be an integer >= 0"),
        ({"from": "2011-01-01", "to": "2011-02-01"}, r"\{fraction: <share>, seed: <int>\}.*which has no time"),
    ],
)
def test_a_bad_holdout_of_a_problem_without_time_is_refused_naming_the_key(value: Any, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        read_holdout_rule(Params({"featurize": {"holdout": value}}), load_problem("breast_cancer"))


def test_a_holdout_that_leaves_no_training_rows_is_refused(bike_source: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"the holdout \(featurize\.holdout\) leaves .* too few"):
        featurize_as_of(
            tmp_path, bike_source, FIRST, **{"featurize.holdout": {"from": "2011-01-01", "to": "2011-05-01"}}
        )


def test_export_stores_the_fixed_holdout_with_the_model_else_the_test_split(tmp_path: Path) -> None:
    from tasks.training.export import holdout_source

    (tmp_path / "test.parquet").write_bytes(b"t")
    assert holdout_source(tmp_path) == tmp_path / "test.parquet"
    (tmp_path / "holdout.parquet").write_bytes(b"h")
    assert holdout_source(tmp_path) == tmp_path / "holdout.parquet"


def test_the_gate_leaves_out_holdout_rows_the_candidate_trained_on(
    bike_source: pd.DataFrame, runs: dict[str, dict[str, Any]]
) -> None:
    """The gate's own guard (tasks/evaluation/holdout.py seen_in_training): with the fixed holdout the retrain saw
    none of the champion's holdout; with the time split alone it saw all of it, and the gate would not judge on it."""
    from tasks.evaluation.holdout import seen_in_training

    first, retrain = runs[FIRST], runs[RETRAIN]
    spec = retrain["spec"]
    assert not seen_in_training(first["holdout"], [retrain["train"], retrain["val"]], spec).any()
    frame = feature_view(select_before(bike_source, PROBLEM, pd.Timestamp(RETRAIN)), PROBLEM)
    plain = split_by_time(frame, "timestamp", 0.15, 0.15)
    seen = seen_in_training(first["test"], [plain["train"], plain["val"]], spec)
    assert seen.all() and len(seen) == 418
    partly = pd.concat([first["test"].iloc[:18], retrain["test"].iloc[:400]], ignore_index=True)
    assert seen_in_training(partly, [plain["train"], plain["val"]], spec).sum() == 18
    assert not seen_in_training(first["test"], [plain["train"]], {**spec, "kind": "image"}).any()


def test_the_gate_says_how_many_trained_on_holdout_rows_it_left_out() -> None:
    from tasks.evaluation.gate import holdout_checks

    holdout = {"version": 1, "rows": 400, "trained_on": 18, "candidate": {"rmse": 59.0}, "champion": {"rmse": 60.0}}
    (check,) = holdout_checks(holdout, {"rmse": 1.0})
    assert check["passed"] and check["reason"].startswith(
        "on the trusted holdout of production version 1 (400 rows it was blessed on, 18 the candidate trained on "
        "left out): RMSE 59"
    )

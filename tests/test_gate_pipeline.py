"""The gate on real models: a champion is deployed, a deliberately worse candidate (one epoch) is refused and
production stays as it was, then an explicit override deploys it and says so in the report and the model card.

Runs train -> evaluate -> export -> deploy in-process (TensorFlow imported once) in a temporary workspace whose
features are built from the bundled source, so it needs no earlier `dvc repro`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines import load_problem
from tasks.data.sources import read_sources
from tasks.evaluation.page import numbers_by_key
from tasks.kinds.table_source import parse_as_of, select_before
from tasks.kinds.table_split import fit_feature_spec, split_by_time
from tests.workspace_params import copy_params, effective_params, set_params

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent
PRODUCTION = Path("data/model_store/bike_demand/production.json")
BASE = {"evaluate.permutation_repeats": 2, "train.epochs": 40, "train.patience": 10}


def write_features(
    root: Path, params: dict[str, Any], poison: Callable[[pd.DataFrame], pd.DataFrame] | None = None
) -> None:
    """data/features/ as featurize makes it, from the bundled source (collect and validate are not under test),
    with `poison` applied to every row if given (a broken feed that validation let through)."""
    problem = load_problem(params["problem"])
    frame, _ = read_sources(str(REPO / params["collect"]["source"]))
    frame = select_before(frame, problem, parse_as_of(params["collect"]["as_of"]))[problem.model_columns]
    frame = poison(frame) if poison is not None else frame
    fractions = {k: params["featurize"][k] for k in ("val_fraction", "test_fraction")}
    splits = split_by_time(frame, problem.timestamp, **fractions)
    spec = fit_feature_spec(splits["train"], problem)
    out = root / "data/features"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name, part in splits.items():
        part.to_parquet(out / f"{name}.parquet", index=False)
    (out / "spec.json").write_text(json.dumps(spec))


def run(root: Path, **changes: Any) -> dict[str, Any]:
    """Write params (params.yaml and the problem's own) with dotted `changes` (train__epochs=1), run
    train..deploy, return what they wrote."""
    import tasks.evaluation.evaluate
    import tasks.store.deploy
    import tasks.training.export
    import tasks.training.train

    copy_params(root)
    set_params(root, {**BASE, **{dotted.replace("__", "."): value for dotted, value in changes.items()}})
    with contextlib.chdir(root):
        before = PRODUCTION.read_bytes() if PRODUCTION.exists() else None
        for stage in (tasks.training.train, tasks.evaluation.evaluate, tasks.training.export, tasks.store.deploy):
            stage.main()
        return {
            "production_before": before,
            "production_after": PRODUCTION.read_bytes(),
            "versions": sorted(p.name for p in PRODUCTION.parent.iterdir() if p.name.isdigit()),
            "metrics": json.loads(Path("reports/evaluation/metrics.json").read_text()),
            "evaluation": json.loads(Path("reports/evaluation/evaluation.json").read_text()),
            "blessing": json.loads(Path("data/evaluation/blessing.json").read_text()),
            "receipt": json.loads(Path("data/deploy/receipt.json").read_text()),
            "card": json.loads(Path("data/export/model_card.json").read_text()),
            "html": Path("reports/evaluation/index.html").read_text(),
        }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("gate")
    write_features(root, effective_params())
    results = {"champion": run(root)}
    # the broken feed: temp and hum swapped in every row, past validation (say its checks were warnings)
    write_features(root, effective_params(), lambda f: f.assign(temp=f["hum"], hum=f["temp"]))
    results["swapped"] = run(root)
    write_features(root, effective_params())
    results["worse"] = run(root, train__epochs=1)
    results["override"] = run(
        root,
        train__epochs=1,
        evaluate__gate__override=True,
        evaluate__gate__override_reason="test: deploy the one-epoch model on purpose",
    )
    results["root"] = {"path": root}
    yield results
    shutil.rmtree(root, ignore_errors=True)


def test_first_model_is_deployed_without_a_champion(runs: dict[str, dict[str, Any]]) -> None:
    first = runs["champion"]
    assert first["blessing"]["blessed"] and first["blessing"]["champion"] is None
    assert first["receipt"]["deployed"] and first["receipt"]["production_version"] == 1


def test_worse_candidate_is_refused_and_production_is_unchanged(runs: dict[str, dict[str, Any]]) -> None:
    worse = runs["worse"]
    assert not worse["blessing"]["blessed"]
    assert worse["blessing"]["champion"]["version"] == 1
    assert any(r.startswith("vs production version 1: RMSE") and "exceeds" in r for r in worse["blessing"]["failed"])
    assert worse["metrics"]["model"]["rmse"] > worse["metrics"]["champion"]["rmse"]
    assert not worse["receipt"]["deployed"]
    assert worse["receipt"]["production_version"] == 1
    assert worse["production_after"] == worse["production_before"]
    assert worse["versions"] == ["1"]
    assert "NOT BLESSED" in worse["html"]
    # the one-epoch model is also worse on the rows the champion was blessed on (its trusted holdout)
    assert any(r.startswith("on the trusted holdout of production version 1 (") for r in worse["blessing"]["failed"])
    assert "Trusted holdout" in worse["html"]


def test_a_promoted_version_carries_the_rows_it_was_blessed_on(runs: dict[str, dict[str, Any]]) -> None:
    from tasks.evaluation.holdout import load_holdout
    from tasks.store.model_store import ModelStore

    root = runs["root"]["path"]
    store = ModelStore(root / "data/model_store", "bike_demand")
    holdout = load_holdout(store.version_dir(1), store.card(1))  # hash-checked against version 1's card
    assert holdout is not None and len(holdout) == runs["champion"]["card"]["holdout"]["rows"]
    pd.testing.assert_frame_equal(holdout, pd.read_parquet(root / "data/features/test.parquet"))


def test_a_candidate_that_wins_on_broken_rows_is_refused_on_the_trusted_holdout(
    runs: dict[str, dict[str, Any]],
) -> None:
    swapped = runs["swapped"]
    # scored on the broken test rows, the good champion looks far worse than the candidate trained on them ...
    assert swapped["metrics"]["model"]["rmse"] < swapped["metrics"]["champion"]["rmse"]
    assert not [c for c in swapped["blessing"]["checks"] if c["check"] == "champion" and not c["passed"]]
    # ... but on the rows the champion was blessed on, the candidate is worse: refused, production unchanged
    assert not swapped["blessing"]["blessed"]
    assert swapped["blessing"]["failed"][0].startswith("on the trusted holdout of production version 1 (")
    assert swapped["production_after"] == swapped["production_before"] and swapped["versions"] == ["1"]
    gap = swapped["evaluation"]["holdout"]["champion_gap"]
    assert gap.startswith("production version 1 scores RMSE") and "Columns that moved most: " in gap
    assert {m["column"] for m in swapped["evaluation"]["holdout"]["moved_columns"][:2]} == {"temp", "hum"}
    assert "Columns that moved most" in swapped["html"]


def test_champion_is_scored_as_served_on_the_same_test_rows(runs: dict[str, dict[str, Any]]) -> None:
    # the champion of the second run is the first run's model: its SavedModel must score what its Keras model did
    champion = runs["worse"]["metrics"]["champion"]
    assert champion["rmse"] == pytest.approx(runs["champion"]["metrics"]["model"]["rmse"], rel=1e-5)


def test_report_numbers_equal_metrics_json_on_a_real_run(runs: dict[str, dict[str, Any]]) -> None:
    worse = runs["worse"]
    shown = numbers_by_key(worse["html"])
    expected = {f"{n}.{m}": v for n, s in worse["metrics"].items() if isinstance(s, dict) for m, v in s.items()}
    assert set(shown) == set(expected)
    for key, value in expected.items():
        assert float(shown[key]) == pytest.approx(value, abs=0.00055), key  # 3 decimals vs 4


def test_override_deploys_and_is_recorded_in_report_card_and_receipt(runs: dict[str, dict[str, Any]]) -> None:
    over = runs["override"]
    reason = "test: deploy the one-epoch model on purpose"
    assert over["blessing"]["overridden"] and over["blessing"]["failed"]
    assert over["receipt"]["deployed"] and over["receipt"]["production_version"] == 2
    assert over["receipt"]["override_reason"] == reason
    assert over["card"]["gate_override"] == {"overridden": True, "reason": reason}
    assert "BLESSED BY OVERRIDE" in over["html"] and reason in over["html"]
    assert json.loads(over["production_after"])["version"] == 2


def test_every_baseline_is_scored_and_the_report_says_by_how_much_it_is_beaten(runs: dict[str, dict[str, Any]]) -> None:
    first = runs["champion"]
    assert {"model", "common_sense", "mean", "linear"} <= set(first["metrics"])
    for name in ("common_sense", "mean", "linear"):
        assert first["metrics"]["model"]["rmse"] < first["metrics"][name]["rmse"]
        assert f"{name} baseline: RMSE" in first["html"]
    assert first["html"].count("% better</td>") >= 3


def test_a_champion_whose_inputs_no_longer_match_fails_the_gate_with_the_reason(runs: dict[str, Any]) -> None:
    from tasks.evaluation.champion import champion_identity
    from tasks.evaluation.evaluate import score_champion
    from tasks.evaluation.gate import GatePolicy, decide_blessing
    from tasks.objectives.metrics import regression_metrics
    from tasks.store.model_store import ModelStore

    root = runs["root"]["path"]
    spec = json.loads((root / "data/features/spec.json").read_text())
    test = pd.read_parquet(root / "data/features/test.parquet")
    del spec["numeric"]["windspeed"]  # as if a feature had been dropped since the champion was trained

    champion = champion_identity(ModelStore(root / "data/model_store", "bike_demand"))
    scored = score_champion(champion, test, spec, test["bikers"].to_numpy(), regression_metrics)

    assert scored["version"] == 2 and "metrics" not in scored
    assert "its inputs differ from the current features (it needs ['windspeed']" in scored["error"]
    blessing = decide_blessing({"rmse": 1.0, "mae": 1.0, "r2": 1.0}, {}, scored, GatePolicy(primary_metric="rmse"))
    assert not blessing["blessed"] and "could not be scored" in blessing["failed"][0]

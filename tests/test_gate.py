"""The gate's decisions, its params, and deploy's obedience to the blessing (no TensorFlow needed here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.evaluation.gate import GatePolicy, decide_blessing, read_gate_policy
from tasks.store.deploy import blessing_problems, deploy
from tasks.store.model_store import ModelStore
from tests.tiny_export import write_tiny_export

POLICY = GatePolicy(
    primary_metric="rmse",
    floors={"rmse": {"max": 90.0}, "r2": {"min": 0.6}},
    max_worse_than_champion_pct={"rmse": 1.0, "mae": 2.0},
)
CANDIDATE = {"rmse": 60.0, "mae": 40.0, "r2": 0.80}
BASELINES = {"common_sense": {"rmse": 120.0, "mae": 88.0, "r2": 0.2}, "linear": {"rmse": 100.0, "mae": 70.0, "r2": 0.4}}


def champion(**metrics: float) -> dict[str, Any]:
    return {"version": 3, "fingerprint": "abc", "path": "store/m/3", "metrics": {**CANDIDATE, **metrics}}


def test_blesses_a_candidate_that_clears_floors_baselines_and_champion() -> None:
    blessing = decide_blessing(CANDIDATE, BASELINES, champion(rmse=60.3), POLICY)
    assert blessing["blessed"] and blessing["passed"] and not blessing["overridden"]
    assert blessing["champion"] == {"version": 3, "fingerprint": "abc", "path": "store/m/3"}
    assert any("common_sense baseline" in r and "beats it by 50.0%" in r for r in blessing["reasons"])
    assert len(blessing["checks"]) == 2 + 2 + 2  # two floors, two baselines, two champion metrics


def test_refuses_a_candidate_more_than_the_allowed_percent_worse_than_the_champion() -> None:
    blessing = decide_blessing(CANDIDATE, BASELINES, champion(rmse=59.0), POLICY)  # 1.7% worse, 1% allowed
    assert not blessing["blessed"]
    assert blessing["failed"] == [
        "vs production version 3: RMSE 60 vs 59, 1.69% worse (exceeds the 1% allowed)",
    ]


def test_higher_is_better_metrics_are_compared_the_right_way_round() -> None:
    policy = GatePolicy(primary_metric="rmse", max_worse_than_champion_pct={"r2": 1.0})
    assert decide_blessing(CANDIDATE, {}, champion(r2=0.90), policy)["failed"]  # champion's R² much higher
    assert decide_blessing(CANDIDATE, {}, champion(r2=0.70), policy)["passed"]


def test_floors_and_baselines_fail_with_their_reasons() -> None:
    bad = {"rmse": 110.0, "mae": 80.0, "r2": 0.5}
    blessing = decide_blessing(bad, BASELINES, None, POLICY)
    assert not blessing["blessed"]
    failed = " | ".join(blessing["failed"])
    assert "RMSE 110 above the max 90" in failed
    assert "R² 0.5 below the min 0.6" in failed
    assert "linear baseline: RMSE 110 vs 100, does not beat it (10.0% worse)" in failed
    assert not blessing["beats_baselines"]


def test_baselines_may_be_made_informational() -> None:
    policy = GatePolicy(primary_metric="rmse", require_beating_baselines=False)
    blessing = decide_blessing({"rmse": 110.0, "mae": 1.0, "r2": 0.9}, BASELINES, None, policy)
    assert blessing["blessed"] and not blessing["beats_baselines"]
    assert any(r.endswith("(not required)") for r in blessing["reasons"])


def test_first_deployment_has_no_champion_and_passes_that_check() -> None:
    blessing = decide_blessing(CANDIDATE, BASELINES, None, POLICY)
    assert blessing["blessed"] and blessing["champion"] is None
    assert any("first deploy" in r for r in blessing["reasons"])


def test_a_champion_that_cannot_be_scored_fails_the_gate() -> None:
    broken = {"version": 2, "fingerprint": "f", "path": "p", "error": "ValueError: its inputs differ"}
    blessing = decide_blessing(CANDIDATE, BASELINES, broken, POLICY)
    assert not blessing["blessed"]
    assert "could not be scored" in blessing["failed"][0]


def test_override_blesses_a_failed_candidate_and_keeps_every_failure_on_record() -> None:
    policy = GatePolicy(**{**POLICY.__dict__, "override": True, "override_reason": "hotfix for the new schema"})
    blessing = decide_blessing(CANDIDATE, BASELINES, champion(rmse=50.0), policy)
    assert blessing["blessed"] and blessing["overridden"] and not blessing["passed"]
    assert blessing["override_reason"] == "hotfix for the new schema"
    assert blessing["failed"]
    assert blessing["reasons"][-1] == "OVERRIDE: blessed despite 1 failed check(s): hotfix for the new schema"


def params(tmp_path: Path, gate: dict[str, Any]) -> Params:
    path = tmp_path / "params.yaml"
    path.write_text(json.dumps({"evaluate": {"gate": gate}}))  # JSON is YAML
    return Params.load(path)


def test_gate_params_are_read_and_checked(tmp_path: Path) -> None:
    policy = read_gate_policy(
        params(tmp_path, {"floors": {"rmse": {"max": 90}}, "max_worse_than_champion_pct": {"mae": 2}}), "regression"
    )
    assert policy.primary_metric == "rmse"
    assert policy.floors == {"rmse": {"max": 90.0}}
    assert policy.max_worse_than_champion_pct == {"mae": 2.0}
    assert not policy.override


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"override": True, "override_reason": "  "}, "'evaluate.gate.override_reason' is empty"),
        ({"floors": {"accuracy": {"min": 0.9}}}, "'evaluate.gate.floors.accuracy': unknown metric"),
        ({"floors": {"rmse": {"below": 9}}}, "'evaluate.gate.floors.rmse' must be a mapping with 'min'"),
        ({"max_worse_than_champion_pct": {"rmse": -1}}, "max_worse_than_champion_pct.rmse' must be a number >= 0"),
        ({"primary_metric": "bias"}, "'evaluate.gate.primary_metric' is 'bias'"),
    ],
)
def test_bad_gate_params_name_the_key(tmp_path: Path, gate: dict[str, Any], message: str) -> None:
    with pytest.raises(PipelineError, match=message.replace(".", r"\.").replace("(", r"\(")):
        read_gate_policy(params(tmp_path, gate), "regression")


# --- deploy obeys the blessing -------------------------------------------------------------------------------


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """A tiny real export (the store fingerprints a SavedModel's weights by loading it)."""
    return write_tiny_export(tmp_path / "export", b"candidate weights")


def test_deploy_refuses_an_unblessed_candidate_and_production_is_unchanged(tmp_path: Path, export_dir: Path) -> None:
    store = ModelStore(tmp_path / "store", "m")
    first = write_tiny_export(tmp_path / "first", b"champion weights") / "savedmodel"
    store.promote(store.add_version(first, {})[0], "first")
    before = (store.model_dir / "production.json").read_bytes()

    refused = decide_blessing({"rmse": 95.0, "mae": 1.0, "r2": 0.9}, BASELINES, None, POLICY)
    receipt = deploy(store, export_dir, refused)

    assert not receipt["deployed"]
    assert receipt["reasons"][0] == "the candidate is not blessed"
    assert "RMSE 95 above the max 90" in " ".join(receipt["reasons"])
    assert (store.model_dir / "production.json").read_bytes() == before
    assert store.versions() == [1]


def test_deploy_refuses_a_blessing_measured_against_a_replaced_champion() -> None:
    blessing = decide_blessing(CANDIDATE, BASELINES, champion(), POLICY)  # measured against version 3
    problems = blessing_problems(blessing, {"version": 4}, {})
    assert problems and problems[0].startswith("stale blessing: the candidate was compared with production version 3")
    assert blessing_problems(blessing, {"version": 3}, {}) == []
    first_deploy = decide_blessing(CANDIDATE, BASELINES, None, POLICY)
    assert "version None" in blessing_problems(first_deploy, {"version": 1}, {})[0]


def test_deploy_rerun_after_promoting_the_candidate_is_not_a_stale_blessing(tmp_path: Path, export_dir: Path) -> None:
    store = ModelStore(tmp_path / "store", "m")
    first = write_tiny_export(tmp_path / "first", b"champion weights") / "savedmodel"
    store.promote(store.add_version(first, {})[0], "first")
    blessing = decide_blessing(CANDIDATE, BASELINES, {**champion(), "version": 1}, POLICY)

    promoted = deploy(store, export_dir, blessing)
    again = deploy(store, export_dir, blessing)  # production (2) is no longer the champion (1) it was compared with

    assert promoted["deployed"] and promoted["production_version"] == 2
    assert again["deployed"] and again["production_version"] == 2 and not again["new_version"]
    assert "already in production" in again["reasons"][0]


def test_a_re_export_of_the_production_model_is_recognised_by_its_model_card(tmp_path: Path, export_dir: Path) -> None:
    """Two exports of one Keras model can differ in checkpoint bytes; the model card's Keras hash still matches."""
    store = ModelStore(tmp_path / "store", "m")
    card = {"lineage": {"keras_model_sha256": "k1"}}
    (export_dir / "model_card.json").write_text(json.dumps(card))
    blessing = decide_blessing(CANDIDATE, BASELINES, None, POLICY)
    assert deploy(store, export_dir, blessing, card)["production_version"] == 1
    (export_dir / "savedmodel/fingerprint.pb").unlink()  # a re-export: other file bytes, the same weights

    again = deploy(store, export_dir, blessing, card)  # blessed against "no champion"; production is now 1

    assert again["deployed"] and again["production_version"] == 1 and not again["new_version"]
    assert "already in production" in again["reasons"][0]  # not refused as stale, not stored twice
    assert store.versions() == [1]
    other_export = write_tiny_export(tmp_path / "other", b"other weights")
    other = deploy(store, other_export, blessing, {"lineage": {"keras_model_sha256": "k2"}})
    assert not other["deployed"] and other["reasons"][0].startswith("stale blessing")
    assert store.production()["version"] == 1


def test_deploy_refuses_a_blessing_of_another_model() -> None:
    blessing = {**decide_blessing(CANDIDATE, BASELINES, None, POLICY), "candidate": {"keras_model_sha256": "aaa"}}
    card = {"lineage": {"keras_model_sha256": "bbb"}}
    assert "another model" in blessing_problems(blessing, None, card)[0]

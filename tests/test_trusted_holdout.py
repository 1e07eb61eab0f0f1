"""The trusted holdout (tasks/evaluation/holdout.py): each promoted version carries the rows it was blessed on, hashed
in its
card; the gate scores candidate and champion on them as well, so broken new rows cannot make a worse candidate win."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.evaluation.gate import GatePolicy, decide_blessing
from tasks.evaluation.holdout import HOLDOUT_FILE, HoldoutError, champion_gap, holdout_card, load_holdout, moved_columns
from tasks.store.deploy import deploy
from tasks.store.model_store import ModelStore
from tests.tiny_export import write_tiny_export

pytestmark = pytest.mark.timeout(120)
POLICY = GatePolicy(primary_metric="rmse", max_worse_than_champion_pct={"rmse": 1.0})
BASELINES = {"mean": {"rmse": 200.0}}


def holdout_rows(rows: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"hum": rng.uniform(0.3, 1.0, rows), "weathersit": ["clear"] * rows, "bikers": np.arange(rows)})


def export_with_holdout(root: Path, weights: bytes) -> Path:
    """A tiny export as `export` writes it: savedmodel/, holdout.parquet and a card hashing it."""
    root.mkdir(parents=True)
    holdout_rows().to_parquet(root / HOLDOUT_FILE, index=False)
    return write_tiny_export(root, weights, json.dumps({"holdout": holdout_card(root / HOLDOUT_FILE)}))


def test_a_promoted_version_carries_its_holdout_and_the_card_hashes_it(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", "bikes")
    receipt = deploy(store, export_with_holdout(tmp_path / "e1", b"w1"), {"blessed": True, "champion": None})
    assert receipt["deployed"] and receipt["production_version"] == 1
    loaded = load_holdout(store.version_dir(1), store.card(1))
    pd.testing.assert_frame_equal(loaded, holdout_rows())
    assert store.card(1)["holdout"]["rows"] == 50


def test_an_altered_holdout_is_not_trusted_and_names_the_file(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", "bikes")
    deploy(store, export_with_holdout(tmp_path / "e1", b"w1"), {"blessed": True, "champion": None})
    stored = store.version_dir(1) / "assets.extra" / HOLDOUT_FILE
    holdout_rows().assign(bikers=0).to_parquet(stored, index=False)  # someone "fixed" the labels
    with pytest.raises(HoldoutError, match=rf"{stored}: sha256 .* differs from the model card's"):
        load_holdout(store.version_dir(1), store.card(1))
    stored.unlink()
    with pytest.raises(HoldoutError, match="not found, but the version's model card names a holdout"):
        load_holdout(store.version_dir(1), store.card(1))


def test_a_version_stored_before_holdouts_has_none(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", "bikes")
    deploy(store, write_tiny_export(tmp_path / "e1", b"w1"), {"blessed": True, "champion": None})
    assert load_holdout(store.version_dir(1), store.card(1)) is None


def test_a_candidate_that_wins_on_broken_new_rows_but_loses_on_the_holdout_is_refused() -> None:
    # on the new (broken) rows the good champion looks bad: the candidate seems 54% better ...
    champion = {"version": 1, "fingerprint": "f", "path": "p", "metrics": {"rmse": 131.0}}
    holdout = {"version": 1, "rows": 400, "candidate": {"rmse": 131.0}, "champion": {"rmse": 60.0}}
    blessing = decide_blessing({"rmse": 60.0}, BASELINES, champion, POLICY, holdout)
    # ... but on the rows the champion was blessed on, the candidate is 2.2x worse: refused
    assert not blessing["blessed"]
    [failed] = blessing["failed"]
    assert failed.startswith("on the trusted holdout of production version 1 (400 rows it was blessed on): RMSE 131")
    assert "118.33% worse (exceeds the 1% allowed)" in failed


def test_a_candidate_that_holds_its_own_on_the_holdout_is_blessed() -> None:
    champion = {"version": 1, "fingerprint": "f", "path": "p", "metrics": {"rmse": 90.0}}
    holdout = {"version": 1, "rows": 400, "candidate": {"rmse": 59.0}, "champion": {"rmse": 60.0}}
    blessing = decide_blessing({"rmse": 70.0}, BASELINES, champion, POLICY, holdout)
    assert blessing["blessed"], blessing["failed"]
    assert [c["check"] for c in blessing["checks"]][-1] == "holdout"


def test_an_unusable_holdout_fails_and_a_missing_one_is_stated() -> None:
    champion = {"version": 1, "fingerprint": "f", "path": "p", "metrics": {"rmse": 60.0}}
    broken = {"version": 1, "error": "x/holdout.parquet: sha256 ab… differs from the model card's cd…"}
    refused = decide_blessing({"rmse": 59.0}, BASELINES, champion, POLICY, broken)
    assert (
        not refused["blessed"] and "the trusted holdout of production version 1 cannot be used" in refused["failed"][0]
    )
    absent = {"version": 1, "absent": "it was stored before holdouts were kept"}
    passed = decide_blessing({"rmse": 59.0}, BASELINES, champion, POLICY, absent)
    assert passed["blessed"] and "has no trusted holdout" in passed["reasons"][-1]


def test_the_report_names_the_columns_that_moved_when_the_champion_does_much_worse_on_new_rows() -> None:
    old = holdout_rows(400)
    new = old.assign(hum=old["hum"] * 0.6)
    new["holiday"] = 0  # a flag: compared by its shares, not its standard deviation
    moved = moved_columns(new, old.assign(holiday=[0, 1] * 200), ["hum", "weathersit", "bikers", "holiday"])
    assert [m["column"] for m in moved] == ["holiday", "hum", "weathersit"]
    assert moved[0]["change"] == "category shares differ by 50% (TVD)"
    assert "std x0.60" in moved[1]["change"]
    holdout = {"version": 3, "champion": {"rmse": 60.0}}
    note = champion_gap(holdout, {"rmse": 131.0}, "rmse", moved)
    assert note is not None and note.startswith("production version 3 scores RMSE 131 on the new test rows against 60")
    assert "Columns that moved most: holiday: category shares differ by 50% (TVD); hum: mean 0.6715 -> 0.4029" in note
    assert champion_gap(holdout, {"rmse": 66.0}, "rmse", moved) is None  # 10% worse: not "much"

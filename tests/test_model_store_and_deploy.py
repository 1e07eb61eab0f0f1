import json
from pathlib import Path

import pytest

from tasks.store.deploy import deploy, receipt_of
from tasks.store.model_store import ModelStore
from tests.tiny_export import write_tiny_export


def fake_export(root: Path, weights: bytes) -> Path:
    """An export (savedmodel/ and model_card.json) whose weights are set by `weights`."""
    return write_tiny_export(root, weights)


FIRST = {"blessed": True, "champion": None}  # as the gate blesses a first model: no production model to compare
OVER_ONE = {"blessed": True, "champion": {"version": 1}}  # ... and one measured against production version 1


def test_blessed_model_becomes_version_one_in_production(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", "bikes")
    receipt = deploy(store, fake_export(tmp_path / "e1", b"w1"), {**FIRST, "reasons": ["ok"]})
    assert receipt["deployed"] and receipt["production_version"] == 1
    assert store.production()["version"] == 1
    assert (tmp_path / "store/bikes/1/saved_model.pb").is_file()
    stored = json.loads((tmp_path / "store/bikes/1/assets.extra/blessing.json").read_text())
    assert stored == {**FIRST, "reasons": ["ok"]}  # the blessing this deploy was decided on


def test_unblessed_model_is_refused_and_production_stays(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", "bikes")
    deploy(store, fake_export(tmp_path / "e1", b"w1"), {**FIRST, "reasons": ["ok"]})
    pointer_before = (tmp_path / "store/bikes/production.json").read_bytes()

    receipt = deploy(store, fake_export(tmp_path / "e2", b"w2"), {"blessed": False, "reasons": ["worse than linear"]})

    assert receipt["deployed"] is False
    assert "worse than linear" in receipt["reasons"]
    assert receipt["production_version"] == 1
    assert store.versions() == [1]
    assert (tmp_path / "store/bikes/production.json").read_bytes() == pointer_before


def test_same_weights_reuse_their_version(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", "bikes")
    deploy(store, fake_export(tmp_path / "e1", b"w1"), FIRST)
    again = fake_export(tmp_path / "e1b", b"w1")
    (again / "savedmodel/fingerprint.pb").unlink()  # a re-export: other file bytes, the same weights
    receipt = deploy(store, again, OVER_ONE)
    assert store.versions() == [1]
    assert receipt["production_version"] == 1 and receipt["new_version"] is False


def test_the_receipt_of_a_promotion_and_of_its_re_run_are_the_same_bytes(tmp_path: Path) -> None:
    """The receipt states what production holds, so a re-run on an unchanged store changes no DVC output."""
    store = ModelStore(tmp_path / "store", "bikes")
    export = fake_export(tmp_path / "e1", b"w1")
    promoted = deploy(store, export, FIRST)
    again = deploy(store, export, OVER_ONE)
    assert promoted["new_version"] and not again["new_version"]  # the actions differ (the log says which) ...
    assert (
        receipt_of(promoted)
        == receipt_of(again)
        == {  # ... the state they leave does not
            "deployed": True,
            "reasons": ["version 1 holds this exact model and is in production"],
            "production_version": 1,
        }
    )
    refused = deploy(store, fake_export(tmp_path / "e2", b"w2"), {"blessed": False, "reasons": ["worse"]})
    assert receipt_of(refused) == {"deployed": False, "reasons": refused["reasons"], "production_version": 1}
    assert "worse" in refused["reasons"]


def test_new_model_gets_the_next_version_and_remembers_the_previous(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", "bikes")
    deploy(store, fake_export(tmp_path / "e1", b"w1"), FIRST)
    deploy(store, fake_export(tmp_path / "e2", b"w2"), OVER_ONE)
    assert store.versions() == [1, 2]
    assert store.production()["version"] == 2
    assert store.production()["previous_version"] == 1
    store.promote(1, "rollback")
    assert store.production()["version"] == 1


def test_promoting_a_missing_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no version 3"):
        ModelStore(tmp_path, "bikes").promote(3, "typo")


def test_a_blessing_that_names_no_production_model_is_refused(tmp_path: Path) -> None:
    """Every model's blessing comes from the one gate, which records the production model it was compared with."""
    store = ModelStore(tmp_path / "store", "images")
    receipt = deploy(store, fake_export(tmp_path / "e1", b"w1"), {"blessed": True, "reasons": ["hand-made"]})
    assert not receipt["deployed"] and "does not record which production model" in receipt["reasons"][0]
    assert store.versions() == []

"""The model card states lineage and any gate override, whichever kind of problem the model is for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tasks.training.export as export
from pipelines.fashion_mnist import PROBLEM as FASHION
from tasks.core.params import Params

PARAMS = Params({"collect": {"source": "x"}, "featurize": {}, "train": {"epochs": 1}})


@pytest.fixture
def overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "features").mkdir()
    (tmp_path / "features/train.parquet").write_bytes(b"rows")
    (tmp_path / "model.keras").write_bytes(b"weights")
    blessing = {"blessed": True, "overridden": True, "override_reason": "hotfix for the holiday peak"}
    (tmp_path / "blessing.json").write_text(json.dumps(blessing))
    monkeypatch.setattr(export, "FEATURES_DIR", tmp_path / "features")
    monkeypatch.setattr(export, "MODEL", tmp_path / "model.keras")
    monkeypatch.setattr(export, "BLESSING", tmp_path / "blessing.json")
    monkeypatch.setattr(export, "METRICS", tmp_path / "absent.json")
    return tmp_path


def test_a_tabular_card_states_the_override_and_its_reason(overridden: Path) -> None:
    spec = {
        "kind": "table",
        "problem": "bike_demand",
        "task": "regression",
        "target": "bikers",
        "numeric": {"temp": {}},
        "categorical": {"hr": {"dtype": "int64"}},
    }
    card = export.model_card(spec, PARAMS, 0.0)
    assert card["gate_override"] == {"overridden": True, "reason": "hotfix for the holiday peak"}
    assert card["inputs"] == {"numeric": ["temp"], "categorical": {"hr": "int64"}}
    assert set(card["lineage"]["data"]) == {"train.parquet"}


def test_an_image_card_states_the_override_and_its_reason(overridden: Path) -> None:
    spec = {
        "kind": "image",
        "problem": "fashion_mnist",
        "task": "classification",
        "target": "label",
        "image_shape": [28, 28],
        "classes": list(FASHION.classes),
    }
    card = export.model_card(spec, PARAMS, 0.0)
    assert card["gate_override"] == {"overridden": True, "reason": "hotfix for the holiday peak"}
    assert card["inputs"]["image"]["dtype"] == "uint8"
    assert card["output"]["classes"] == list(FASHION.classes)
    assert card["lineage"]["keras_model_sha256"]


def test_the_signature_block_has_the_shape_serving_reads(overridden: Path) -> None:
    """/work/notes/SIGNATURE.md: kind, objective, inputs in signature order with dtype, per-instance shape and the
    training range or categories, and the output with its classes for a classifier."""
    import pandas as pd

    spec = {
        "kind": "table",
        "problem": "bike_demand",
        "task": "regression",
        "target": "bikers",
        "numeric": {"temp": {"mean": 0.5, "variance": 0.1}},
        "categorical": {"season": {"dtype": "int64", "vocabulary": [1, 2, 3, 4]}},
    }
    train = pd.DataFrame({"temp": [0.02, 1.0, 0.5], "season": [1, 2, 4], "bikers": [1.0, 2.0, 3.0]})
    card = export.model_card(spec, PARAMS, 0.0, train)
    assert card["signature"] == {
        "name": "serving_default",
        "kind": "table",
        "objective": "regression",
        "inputs": [
            {"name": "temp", "dtype": "float32", "shape": [], "range": {"min": 0.02, "max": 1.0}},
            {"name": "season", "dtype": "int64", "shape": [], "categories": [1, 2, 3, 4]},
        ],
        "output": {"name": "output_0", "dtype": "float32", "shape": [1], "meaning": "bikers"},
    }
    image_spec = {
        "kind": "image",
        "problem": "fashion_mnist",
        "task": "classification",
        "target": "label",
        "image_shape": [28, 28],
        "classes": list(FASHION.classes),
    }
    image = export.model_card(image_spec, PARAMS, 0.0, pd.DataFrame())["signature"]
    assert image["kind"] == "image" and image["objective"] == "multiclass"
    assert image["inputs"] == [{"name": "image", "dtype": "uint8", "shape": [28, 28], "range": {"min": 0, "max": 255}}]
    assert image["output"] == {
        "name": "output_0",
        "dtype": "float32",
        "shape": [10],
        "meaning": "label",
        "classes": list(FASHION.classes),
    }

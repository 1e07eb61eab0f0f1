"""The model card states lineage and any gate override, whichever kind of problem the model is for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tasks.export as export
from pipelines.fashion_mnist import PROBLEM as FASHION
from tasks.image_export import image_model_card
from tasks.params import Params

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
    spec = {"problem": "fashion_mnist", "task": "classification", "image_shape": [28, 28]}
    card = image_model_card(spec, PARAMS, FASHION, 0.0)
    assert card["gate_override"] == {"overridden": True, "reason": "hotfix for the holiday peak"}
    assert card["inputs"]["image"]["dtype"] == "uint8"
    assert card["output"]["classes"] == list(FASHION.classes)
    assert card["lineage"]["keras_model_sha256"]

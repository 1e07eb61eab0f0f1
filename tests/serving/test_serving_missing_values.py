"""Rows with missing values and the source's own field names, served by the real server (uvicorn on a loopback
port) as the model answers them in process; a classifier's answer names its classes (predict and classify)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tasks.store.model_store import ModelStore
from tests.serving.conftest import fast_settings
from tests.serving.live_server import LiveServer, live_server
from tests.serving.tiny_penguins import NA_MARKER, SOURCE_NAMES, TinyPenguins, penguins_model

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> TinyPenguins:
    return penguins_model(tmp_path_factory.mktemp("tiny-penguins"))


def store_of(penguins: TinyPenguins, root: Path) -> ModelStore:
    store = ModelStore(root / "store", "penguins")
    export = penguins.export
    store.add_version(export / "savedmodel", {"model_card.json": export / "model_card.json", "blessing.json": b"{}"})
    store.promote(1, "first")
    return store


def as_request(row: pd.Series, features: list[str], style: int) -> dict[str, Any]:
    """A JSON row under the source's field names; a missing value sent as null (style 0), left out (1) or as the
    source's NA marker (2)."""
    sent: dict[str, Any] = {}
    for name in features:
        value = row[name]
        field = SOURCE_NAMES.get(name, name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if style == 0:
                sent[field] = None
            elif style == 2:
                sent[field] = NA_MARKER
            continue
        sent[field] = value.item() if isinstance(value, np.generic) else value
    return sent


def features_of(penguins: TinyPenguins) -> list[str]:
    return [*penguins.spec["numeric"], *penguins.spec["categorical"]]


def predict(server: LiveServer, payload: dict[str, Any], op: str = "predict") -> Any:
    answer = server.call("POST", f"/v1/models/penguins:{op}", payload)
    assert answer.status == 200, answer.text
    return answer.body


def test_rows_with_null_absent_or_na_marker_values_are_served_as_the_model_answers_them_in_process(
    penguins: TinyPenguins, tmp_path: Path
) -> None:
    rows, features = penguins.rows, features_of(penguins)
    assert rows["sex"].isna().any() and rows["bill_length_mm"].isna().any()  # both kinds of gap, seen in training
    expected = penguins.in_process(rows)
    with live_server(store_of(penguins, tmp_path), fast_settings(tmp_path)) as server:
        for style in (0, 1, 2):
            sent = [as_request(rows.iloc[i], features, style) for i in range(len(rows))]
            answer = predict(server, {"instances": sent})
            np.testing.assert_allclose(np.asarray(answer["predictions"]), expected, atol=1e-5)
        metadata = server.call("GET", "/v1/models/penguins/metadata").body
    signature = {s["name"]: s for s in metadata["metadata"]["model_card_signature"]["inputs"]}
    assert signature["sex"]["missing"]["policy"] == "category"
    assert signature["bill_length_mm"]["missing"]["policy"] == "impute_mean_with_indicator"
    assert signature["bill_length_mm"]["field"] == "bill length (mm)"
    # the string "None" is no longer what a missing category trains as
    assert "None" not in penguins.spec["categorical"]["sex"]["vocabulary"]


def test_a_missing_value_is_imputed_inside_the_savedmodel_not_dropped(penguins: TinyPenguins, tmp_path: Path) -> None:
    row = penguins.rows.iloc[[0]].copy()
    filled = row.copy()
    filled["bill_length_mm"] = penguins.spec["numeric"]["bill_length_mm"]["mean"]
    with live_server(store_of(penguins, tmp_path), fast_settings(tmp_path)) as server:
        gap = as_request(row.iloc[0], features_of(penguins), 0)
        answer = predict(server, {"instances": [gap]})["predictions"]
    # the missing indicator is a feature: a gap is not the same row as the training mean written in
    assert not np.allclose(penguins.in_process(row), penguins.in_process(filled), atol=1e-7)
    np.testing.assert_allclose(answer, penguins.in_process(row), atol=1e-5)


def test_a_classifier_answers_class_names_and_probabilities_by_classify_and_predict(
    penguins: TinyPenguins, tmp_path: Path
) -> None:
    rows, features = penguins.rows.iloc[:3], features_of(penguins)
    expected = penguins.in_process(rows)
    classes = penguins.spec["classes"]
    sent = [as_request(rows.iloc[i], features, 1) for i in range(len(rows))]
    with live_server(store_of(penguins, tmp_path), fast_settings(tmp_path)) as server:
        predicted = predict(server, {"instances": sent})
        context = {"year": sent[0].pop("year")}
        shared = [{k: v for k, v in row.items() if k != "year"} for row in sent[:1]]
        classified = predict(server, {"examples": shared, "context": context}, "classify")
        whole = predict(server, {"examples": sent[1:]}, "classify")
        refused = server.call("POST", "/v1/models/penguins:classify", {"instances": sent})
    assert predicted["classes"] == classes == ["Adelie", "Chinstrap", "Gentoo"]
    result = classified["result"] + whole["result"]
    assert [[name for name, _ in row] for row in result] == [classes] * 3
    np.testing.assert_allclose([[p for _, p in row] for row in result], expected, atol=1e-5)
    assert refused.status == 400 and "examples" in refused.body["error"]


def test_a_field_the_model_needs_is_still_refused_by_its_source_name_when_it_never_had_missing_values(
    penguins: TinyPenguins, tmp_path: Path
) -> None:
    sent = as_request(penguins.rows.iloc[1], features_of(penguins), 0)
    with live_server(store_of(penguins, tmp_path), fast_settings(tmp_path)) as server:
        no_island = server.call(
            "POST", "/v1/models/penguins:predict", {"instances": [{k: v for k, v in sent.items() if k != "island"}]}
        )
        null_island = server.call("POST", "/v1/models/penguins:predict", {"instances": [sent | {"island": None}]})
        twice = server.call("POST", "/v1/models/penguins:predict", {"instances": [sent | {"bill_length_mm": 40.0}]})
    assert no_island.status == 400 and "missing field(s) ['island']" in no_island.body["error"]
    assert null_island.status == 400 and "instance 0, field 'island': missing value" in null_island.body["error"]
    assert twice.status == 400 and "'bill length (mm)'" in twice.body["error"]


@pytest.mark.slow  # the fast counterparts above serve the same app under uvicorn in this process
def test_the_serving_command_answers_rows_with_missing_values_and_classifies_them(
    penguins: TinyPenguins, tmp_path: Path
) -> None:
    """`python -m tasks.serving` (what `make serve` runs), as its own process, on the same rows."""
    import os
    import sys
    import time

    import yaml

    from tests.serving_process import request, served
    from tests.workspaces import committed_yaml

    store_of(penguins, tmp_path)
    params = committed_yaml("params.yaml")
    params["serving"]["log"] = {"dir": str(tmp_path / "log"), "flush_rows": 1000, "flush_s": 600}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    command = [sys.executable, "-m", "tasks.serving", "--params", str(tmp_path / "params.yaml"), "--port", "0"]
    command += ["--store", str(tmp_path / "store"), "--model", "penguins"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows, features = penguins.rows, features_of(penguins)
    sent = [as_request(rows.iloc[i], features, i % 3) for i in range(len(rows))]
    repo = Path(__file__).resolve().parents[2]
    with served(command, repo, env, tmp_path / "server.log") as url:
        deadline = time.monotonic() + 120
        while request(f"{url}/healthz")[0] != 200 and time.monotonic() < deadline:  # loads on its first poll
            time.sleep(0.2)
        status, predicted = request(f"{url}/v1/models/penguins:predict", {"instances": sent})
        classified_status, classified = request(f"{url}/v1/models/penguins:classify", {"examples": sent})
    expected = penguins.in_process(rows)
    assert status == 200 and classified_status == 200, (predicted, classified)
    np.testing.assert_allclose(predicted["predictions"], expected, atol=1e-5)
    assert predicted["classes"] == penguins.spec["classes"]
    np.testing.assert_allclose([[p for _, p in row] for row in classified["result"]], expected, atol=1e-5)

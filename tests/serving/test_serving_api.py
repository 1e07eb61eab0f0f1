"""The server speaks TF Serving's REST API: a plain-HTTP client gets what the Keras model predicts in process."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.serving.request_checks import CheckPolicy
from tasks.store.model_store import ModelStore
from tests.serving.conftest import fast_settings, store_versions
from tests.serving.live_server import live_server
from tests.serving.tiny_models import TinyModel
from tests.tiny_export import write_tiny_export

pytestmark = pytest.mark.timeout(300)


def columns(rows: list[dict]) -> dict[str, list]:
    return {name: [row[name] for row in rows] for name in rows[0]}


def test_bike_predictions_equal_the_keras_model_for_rows_and_columns(tiny_bike: TinyModel, tmp_path: Path) -> None:
    store = store_versions(ModelStore(tmp_path / "store", "bike_demand"), tiny_bike)
    with live_server(store, fast_settings(tmp_path)) as server:
        rows = server.predict("bike_demand", {"instances": tiny_bike.instances})
        cols = server.predict("bike_demand", {"inputs": columns(tiny_bike.instances)})
        wrapped = server.predict(  # a client of a real TF Serving sends one-element lists for (n, 1) inputs
            "bike_demand", {"instances": [{k: [v] for k, v in row.items()} for row in tiny_bike.instances]}
        )
        by_version = server.predict("bike_demand", {"instances": tiny_bike.instances}, version=1)
        by_label = server.predict("bike_demand", {"instances": tiny_bike.instances}, label="production")

    expected = tiny_bike.keras_predictions[1]
    assert rows.status == 200 and rows.headers["x-model-version"] == "1"
    np.testing.assert_allclose(np.asarray(rows.body["predictions"]), expected, rtol=1e-5, atol=1e-5)
    assert set(cols.body) == {"outputs"}
    np.testing.assert_allclose(np.asarray(cols.body["outputs"]), expected, rtol=1e-5, atol=1e-5)
    for answer in (wrapped, by_version, by_label):
        assert answer.status == 200
        np.testing.assert_allclose(np.asarray(answer.body["predictions"]), expected, rtol=1e-5, atol=1e-5)


def test_fashion_predictions_equal_the_keras_model_for_raw_images(tiny_fashion: TinyModel, tmp_path: Path) -> None:
    store = store_versions(ModelStore(tmp_path / "store", "fashion_mnist"), tiny_fashion)
    images = [row["image"] for row in tiny_fashion.instances]
    with live_server(store, fast_settings(tmp_path)) as server:
        named = server.predict("fashion_mnist", {"instances": tiny_fashion.instances})
        bare = server.predict("fashion_mnist", {"instances": images})  # one input: instances are its values
        cols = server.predict("fashion_mnist", {"inputs": images})
        metadata = server.call("GET", "/v1/models/fashion_mnist/metadata").body

    expected = tiny_fashion.keras_predictions[1]
    for answer, key in ((named, "predictions"), (bare, "predictions"), (cols, "outputs")):
        assert answer.status == 200
        np.testing.assert_allclose(np.asarray(answer.body[key]), expected, rtol=1e-5, atol=1e-6)
    image = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["image"]
    assert image["dtype"] == "DT_UINT8"
    assert [d["size"] for d in image["tensor_shape"]["dim"]] == ["-1", "28", "28"]
    assert metadata["metadata"]["model_card_signature"]["output"]["classes"][0] == "T-shirt/top"


def test_status_metadata_health_and_metrics_answer_as_tf_serving_does(tiny_bike: TinyModel, tmp_path: Path) -> None:
    store = store_versions(ModelStore(tmp_path / "store", "bike_demand"), tiny_bike)
    with live_server(store, fast_settings(tmp_path)) as server:
        server.predict("bike_demand", {"instances": tiny_bike.instances})
        status = server.call("GET", "/v1/models/bike_demand")
        version_status = server.call("GET", "/v1/models/bike_demand/versions/1")
        metadata = server.call("GET", "/v1/models/bike_demand/versions/1/metadata")
        health = server.call("GET", "/healthz")
        metrics = server.call("GET", "/metrics").text

    available = {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    assert status.body == {"model_version_status": [available]}
    assert version_status.body == {"model_version_status": [available]}
    spec = metadata.body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert metadata.body["model_spec"] == {"name": "bike_demand", "signature_name": "", "version": "1"}
    assert spec["inputs"]["temp"]["dtype"] == "DT_FLOAT" and spec["inputs"]["season"]["dtype"] == "DT_INT64"
    assert spec["method_name"] == "tensorflow/serving/predict"
    assert health.status == 200 and health.body["version"] == 1
    assert 'trainline_serving_requests_total{code="200",model="bike_demand"}' in metrics
    assert 'trainline_serving_instances_total{model="bike_demand"} 5' in metrics
    assert 'trainline_serving_request_seconds_count{model="bike_demand"} 1' in metrics
    assert 'trainline_serving_model_version{label="production",model="bike_demand"} 1' in metrics


def test_prediction_log_holds_inputs_outputs_versions_and_the_shadow_output(
    tiny_bike: TinyModel, tmp_path: Path
) -> None:
    store = store_versions(ModelStore(tmp_path / "store", "bike_demand"), tiny_bike)
    store.set_shadow(2, "candidate on live traffic")
    with live_server(store, fast_settings(tmp_path, flush_s=60.0)) as server:  # only shutdown flushes
        answers = [
            server.predict("bike_demand", {"instances": tiny_bike.instances}, headers={"X-Request-Id": f"req-{i}"})
            for i in range(3)
        ]
    assert all(a.status == 200 and a.headers["x-model-version"] == "1" for a in answers)  # shadow never answers

    logged = pd.read_parquet(tmp_path / "log").sort_values(["request_id", "instance"]).reset_index(drop=True)
    files = list((tmp_path / "log").glob("date=*/hour=*/part-*.parquet"))  # partitioned by the rows' hour
    assert len(files) == logged["time"].dt.floor("h").nunique() == 1  # batched into one file (one per hour)
    assert list(logged.request_id.unique()) == ["req-0", "req-1", "req-2"] and len(logged) == 15
    assert set(logged.version) == {1} and set(logged.shadow_version) == {2}
    first = logged[logged.request_id == "req-0"]
    assert first["output"].isna().all() and first["input"].isna().all()  # typed columns, no JSON cells
    np.testing.assert_allclose(np.stack(first["output.values"]), tiny_bike.keras_predictions[1], rtol=1e-5)
    np.testing.assert_allclose(np.stack(first["shadow_output.values"]), tiny_bike.keras_predictions[2], rtol=1e-5)
    assert first["input.hr"].iloc[0] == tiny_bike.instances[0]["hr"]


def test_a_version_that_fails_to_load_never_takes_traffic(tiny_bike: TinyModel, tmp_path: Path) -> None:
    store = store_versions(ModelStore(tmp_path / "store", "bike_demand"), tiny_bike)
    stored = write_tiny_export(tmp_path / "broken", b"weights of a version damaged in the store") / "savedmodel"
    version, _ = store.add_version(stored, {"blessing.json": b'{"blessed": true}'})
    (store.model_dir / str(version) / "saved_model.pb").write_bytes(b"not a SavedModel")  # damaged once stored
    with live_server(store, fast_settings(tmp_path)) as server:
        store.promote(version, "this one is broken")
        deadline = time.monotonic() + 30
        while version not in server.serving.holder.failures:
            assert time.monotonic() < deadline, "the server never tried the new version"
            answer = server.predict("bike_demand", {"instances": tiny_bike.instances})
            assert answer.status == 200 and answer.headers["x-model-version"] == "1"
        answer = server.predict("bike_demand", {"instances": tiny_bike.instances})
        status = server.call("GET", "/v1/models/bike_demand").body["model_version_status"]
        metrics = server.call("GET", "/metrics").text

    assert answer.status == 200 and answer.headers["x-model-version"] == "1"
    assert status[0]["version"] == "1" and status[0]["state"] == "AVAILABLE"
    assert status[1]["version"] == str(version) and status[1]["state"] == "END" and status[1]["status"]["error_message"]
    assert 'event="load_failure"' in metrics


def test_out_of_range_values_are_answered_and_counted_in_warn_mode(tiny_bike: TinyModel, tmp_path: Path) -> None:
    store = store_versions(ModelStore(tmp_path / "store", "bike_demand"), tiny_bike)
    settings = fast_settings(tmp_path)
    settings = replace(settings, options=replace(settings.options, policy=CheckPolicy(out_of_range="warn")))
    hot = [{**tiny_bike.instances[0], "temp": 40.0}]
    with live_server(store, settings) as server:
        answer = server.predict("bike_demand", {"instances": hot}, headers={"X-Request-Id": "hot"})
        metrics = server.call("GET", "/metrics").text
    assert answer.status == 200
    assert 'trainline_serving_out_of_range_total{field="temp",model="bike_demand"} 1' in metrics
    logged = pd.read_parquet(tmp_path / "log")
    assert "far outside the training range" in logged.loc[logged.request_id == "hot", "warnings"].iloc[0]


def test_refused_out_of_range_requests_are_logged_for_monitoring_with_why_and_no_output(
    tiny_bike: TinyModel, tmp_path: Path
) -> None:
    store = store_versions(ModelStore(tmp_path / "store", "bike_demand"), tiny_bike)
    hot = [tiny_bike.instances[0], {**tiny_bike.instances[1], "temp": 40.0}]  # reject is the default policy
    with live_server(store, fast_settings(tmp_path)) as server:
        refused = server.predict("bike_demand", {"instances": hot}, headers={"X-Request-Id": "hot"})
        answered = server.predict("bike_demand", {"instances": tiny_bike.instances}, headers={"X-Request-Id": "ok"})
    assert refused.status == 400
    assert "instance 1, field 'temp': 40 is far outside the training range" in refused.body["error"]
    assert answered.status == 200

    logged = pd.read_parquet(tmp_path / "log").sort_values(["request_id", "instance"]).reset_index(drop=True)
    hot_rows = logged[logged.request_id == "hot"]
    assert len(hot_rows) == 2 and set(hot_rows.refused) == {"out_of_range"} and hot_rows["output.values"].isna().all()
    assert hot_rows["input.temp"].tolist() == [pytest.approx(hot[0]["temp"]), 40.0]
    assert "far outside the training range" in hot_rows.warnings.iloc[0]
    ok_rows = logged[logged.request_id == "ok"]
    assert ok_rows.refused.isna().all() and ok_rows["output.values"].notna().all()

"""The pieces of production monitoring that need no model: windows, the log reader and ground truth, the history,
the reference lookup through the model card, and deploy keeping the training data beside the version."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.core.errors import PipelineError
from tasks.monitoring.history import read_history, record_windows, write_verdict
from tasks.monitoring.log_reader import join_ground_truth, read_ground_truth, read_prediction_log
from tasks.monitoring.page import monitoring_index
from tasks.monitoring.reference import version_reference
from tasks.monitoring.windows import cut_windows, parse_rule
from tasks.serving.prediction_log import LoggedRequest, PredictionLog
from tasks.store.deploy import training_data_copy
from tasks.store.model_store import ModelStore
from tests.tiny_export import write_tiny_export

pytestmark = pytest.mark.timeout(120)
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def write_log(folder: Path, times: list[datetime], version: int = 1) -> None:
    """Real log files written by the server's writer: one request of two instances per time."""
    writer = PredictionLog(str(folder), flush_rows=10_000, flush_s=60).start()
    for i, moment in enumerate(times):
        writer.record(
            LoggedRequest(
                f"req-{i}",
                moment,
                "bike_demand",
                version,
                {"temp": np.array([0.1 * i, 0.2]), "weathersit": np.array(["clear", "cloudy/misty"])},
                np.array([[float(i)], [2.0 * i]]),
            )
        )
    writer.close()


def test_log_reader_expands_inputs_and_joins_ground_truth_on_request_id_and_instance(tmp_path: Path) -> None:
    write_log(tmp_path / "log", [START + timedelta(hours=h) for h in range(3)])
    truth_dir = tmp_path / "log/ground_truth"
    truth_dir.mkdir()
    pd.DataFrame({"request_id": ["req-1", "req-2"], "instance": [1, 0], "bikers": [7, 9]}).to_parquet(
        truth_dir / "batch-1.parquet"
    )

    logged = read_prediction_log(tmp_path / "log", "bike_demand")
    joined = join_ground_truth(logged, read_ground_truth(truth_dir, "bikers"), "bikers")

    assert list(joined["request_id"]) == ["req-0", "req-0", "req-1", "req-1", "req-2", "req-2"]
    assert list(joined["prediction"]) == [0.0, 0.0, 1.0, 2.0, 2.0, 4.0]
    assert list(joined["weathersit"]) == ["clear", "cloudy/misty"] * 3
    assert joined["bikers"].tolist()[2:5] == [pytest.approx(np.nan, nan_ok=True), 7, 9]


def test_ground_truth_without_the_target_column_is_refused_naming_file_and_column(tmp_path: Path) -> None:
    tmp_path.joinpath("gt").mkdir()
    pd.DataFrame({"request_id": ["a"], "instance": [0], "count": [3]}).to_parquet(tmp_path / "gt/late.parquet")
    with pytest.raises(PipelineError, match=r"late\.parquet.*missing \['bikers'\]"):
        read_ground_truth(tmp_path / "gt", "bikers")


def test_row_windows_are_complete_only_and_stable_as_the_log_grows(tmp_path: Path) -> None:
    write_log(tmp_path / "log", [START + timedelta(minutes=m) for m in range(10)])  # 20 rows
    logged = read_prediction_log(tmp_path / "log")
    windows = cut_windows(logged, parse_rule({"size": 8, "step": 4}))
    assert [w.id for w in windows] == [
        "rows-000000000-000000008",
        "rows-000000004-000000012",
        "rows-000000008-000000016",
        "rows-000000012-000000020",
    ]
    assert all(len(w.rows) == 8 for w in windows)
    assert windows[0].start == "2026-11-02T00:00:00+00:00"


def test_time_windows_are_aligned_and_only_those_that_ended_are_cut(tmp_path: Path) -> None:
    write_log(tmp_path / "log", [START + timedelta(hours=h) for h in range(0, 24 * 9, 6)])
    logged = read_prediction_log(tmp_path / "log")
    windows = cut_windows(logged, parse_rule({"size": "7d"}), now=START + timedelta(days=9))
    # weeks from the Unix epoch (a Thursday): 2026-10-29 .. 11-05 and 11-05 .. 11-12 (not ended on 11-11)
    assert [w.bounds()["id"] for w in windows] == ["20261029T000000Z-20261105T000000Z"]
    assert windows[0].bounds()["to"] == "2026-11-05T00:00:00+00:00"
    assert len(windows[0].rows) == 2 * 12  # Monday to Wednesday, four requests a day


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("7d", "expected a mapping with 'size'"),
        ({"size": "7 days"}, r"monitoring.window.size: expected a duration"),
        ({"size": "7d", "step": 100}, "both be durations or both be row counts"),
        ({"size": 0}, "at least 1"),
        ({"size": "1d", "every": "1d"}, r"unknown key\(s\) \['every'\]"),
    ],
)
def test_bad_window_settings_name_the_key_and_what_was_expected(setting: object, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        parse_rule(setting)


def verdict(window_id: str, score: float, fired: bool) -> dict:
    return {
        "model": "bike_demand",
        "version": 1,
        "window": {"id": window_id, "from": f"{window_id}-from", "to": f"{window_id}-to"},
        "rows": 500,
        "labelled_rows": 0,
        "verdict": "drift" if fired else "no_drift",
        "signals_fired": ["data_drift"] if fired else [],
        "signals": {
            "data_drift": {"fired": fired, "score": score, "threshold": 0.3, "why": "temp"},
            "performance": {"fired": False, "score": None, "threshold": None, "why": "no ground truth"},
        },
    }


def test_rerunning_a_window_replaces_its_history_rows_and_writes_the_same_json_bytes(tmp_path: Path) -> None:
    first = write_verdict(tmp_path, verdict("w1", 0.1234567891, False))
    before = first.read_bytes()
    record_windows(tmp_path, [verdict("w1", 0.1234567891, False), verdict("w2", 0.8, True)])
    record_windows(tmp_path, [verdict("w1", 0.1234567891, False)])  # the same window again

    history = read_history(tmp_path)
    assert write_verdict(tmp_path, verdict("w1", 0.1234567891, False)).read_bytes() == before
    assert json.loads(before)["signals"]["data_drift"]["score"] == 0.123457
    assert sorted(history["window_id"]) == ["w1", "w2"]  # one row per window x measured signal, no duplicate
    assert history.set_index("window_id")["fired"].to_dict() == {"w1": False, "w2": True}
    page = monitoring_index(history)
    assert page.count("<svg") == 1 and 'href="windows/bike_demand-v1-w2.html"' in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # offline


def store_with_card(tmp_path: Path, card: dict, training: bytes | None) -> ModelStore:
    store = ModelStore(tmp_path / "store", "bike_demand")
    export = write_tiny_export(tmp_path / "export", b"monitoring", json.dumps(card))
    extra: dict = {"model_card.json": export / "model_card.json"}
    if training is not None:
        extra["training_data.parquet"] = training
    store.add_version(export / "savedmodel", extra)
    return store


def training_bytes(tmp_path: Path) -> bytes:
    pd.DataFrame({"temp": [0.1, 0.2], "bikers": [3, 4]}).to_parquet(tmp_path / "train.parquet")
    return (tmp_path / "train.parquet").read_bytes()


def test_reference_is_the_training_data_the_card_names_by_hash(tmp_path: Path) -> None:
    data = training_bytes(tmp_path)
    card = {"task": "regression", "lineage": {"data": {"train.parquet": hashlib.sha256(data).hexdigest()}}}
    reference = version_reference(store_with_card(tmp_path, card, data), 1, tmp_path)
    assert reference.frame["temp"].tolist() == [0.1, 0.2] and reference.found_at == "1/assets.extra"


def test_stored_training_data_that_differs_from_the_cards_hash_is_refused(tmp_path: Path) -> None:
    card = {"lineage": {"data": {"train.parquet": "0" * 64}}}
    with pytest.raises(PipelineError, match="changed after deploy"):
        version_reference(store_with_card(tmp_path, card, training_bytes(tmp_path)), 1, tmp_path)


def test_a_version_without_its_training_data_is_refused_with_how_to_repair(tmp_path: Path) -> None:
    card = {"lineage": {"data": {"train.parquet": "ab" * 32}}}
    with pytest.raises(PipelineError, match=r"version 1 .*neither stored with it.*re-deploy"):
        version_reference(store_with_card(tmp_path, card, None), 1, tmp_path)


def test_deploy_keeps_the_training_split_only_when_it_is_the_one_the_card_names(tmp_path: Path) -> None:
    data = training_bytes(tmp_path)
    card = {"lineage": {"data": {"train.parquet": hashlib.sha256(data).hexdigest()}}}
    assert training_data_copy(card, tmp_path) == {"training_data.parquet": tmp_path / "train.parquet"}
    assert training_data_copy({"lineage": {"data": {"train.parquet": "0" * 64}}}, tmp_path) == {}


def test_refused_rows_count_in_data_drift_but_not_in_prediction_drift_or_performance(tmp_path: Path) -> None:
    from tasks.monitoring.reference import Reference
    from tasks.monitoring.window import MonitoringSettings, assess_window

    rng = np.random.default_rng(0)
    card = {
        "task": "regression",
        "output": {"meaning": "y"},
        "inputs": {"numeric": ["x"], "categorical": []},
        "metrics": {"model": {"rmse": 1.0, "mae": 0.8}},
    }
    x = rng.normal(0.0, 1.0, 2000)
    reference = Reference("m", 1, card, pd.DataFrame({"x": x, "y": 2 * x}), "test")
    reference_outputs = 2 * x
    settings = MonitoringSettings(
        parse_rule({"size": 200}), tmp_path, tmp_path, tmp_path, drift={"adversarial_rows": 0}
    )
    bounds = {"id": "rows-0", "from": "", "to": ""}

    # 100 ordinary rows answered as the reference would be, 100 far out of range that the server refused
    ordinary = rng.normal(0.0, 1.0, 100)
    far = rng.normal(10.0, 1.0, 100)
    rows = pd.DataFrame(
        {
            "x": np.concatenate([ordinary, far]),
            "prediction": [*(2 * ordinary), *[None] * 100],
            "refused": [None] * 100 + ["out_of_range"] * 100,
            "y": [*(2 * ordinary), *(2 * far)],  # ground truth for every row: the refused ones have no prediction
        }
    )
    verdict = assess_window(reference, reference_outputs, rows, bounds, settings)

    assert verdict["rows"] == 200 and verdict["refused_rows"] == 100
    assert verdict["signals"]["data_drift"]["fired"]  # the refused half is what production was sent
    assert not verdict["signals"]["prediction_drift"]["fired"]  # the answered half looks like the reference
    assert verdict["labelled_rows"] == 100 and not verdict["signals"]["performance"]["fired"]

    everything_refused = rows.iloc[100:]
    alone = assess_window(reference, reference_outputs, everything_refused, bounds, settings)
    assert alone["refused_rows"] == 100 and alone["labelled_rows"] == 0
    assert not alone["signals"]["prediction_drift"]["fired"]
    assert "refused all 100 rows" in alone["signals"]["prediction_drift"]["why"]


def test_logs_written_before_refusals_were_logged_read_as_all_answered(tmp_path: Path) -> None:
    from tests.monitoring.old_log import write_old_log

    inputs = {"temp": np.array([0.1, 0.2]), "weathersit": np.array(["clear", "cloudy/misty"])}
    path = write_old_log(tmp_path / "log", [LoggedRequest("req-0", START, "bike_demand", 1, inputs, np.zeros((2, 1)))])
    pd.read_parquet(path).drop(columns=["refused"]).to_parquet(path)  # as the server wrote it before `refused`
    assert path.relative_to(tmp_path / "log").as_posix() == "date=2026-11-02/part-old.parquet"
    logged = read_prediction_log(tmp_path / "log", "bike_demand")
    assert logged["refused"].isna().all() and list(logged["prediction"]) == [0.0, 0.0]


def test_a_parquet_file_that_is_not_a_prediction_log_is_refused_naming_it(tmp_path: Path) -> None:
    foreign = tmp_path / "log/date=2026-11-02/part-foreign.parquet"
    foreign.parent.mkdir(parents=True)
    pd.DataFrame({"bikers": [3]}).to_parquet(foreign)
    with pytest.raises(PipelineError, match=r"part-foreign\.parquet: not a prediction log file"):
        read_prediction_log(tmp_path / "log")


def test_promotion_swaps_the_reference_with_the_pointer_and_rollback_restores_it(tmp_path: Path) -> None:
    from tasks.monitoring.reference import production_reference

    store = ModelStore(tmp_path / "store", "bike_demand")
    for version, temps in ((1, [0.1, 0.2]), (2, [0.7, 0.8, 0.9])):
        train = tmp_path / f"train-{version}.parquet"
        pd.DataFrame({"temp": temps, "bikers": [3] * len(temps)}).to_parquet(train)
        card = {
            "task": "regression",
            "lineage": {"data": {"train.parquet": hashlib.sha256(train.read_bytes()).hexdigest()}},
        }
        export = write_tiny_export(tmp_path / f"export-{version}", f"weights {version}".encode(), json.dumps(card))
        stored, _ = store.add_version(
            export / "savedmodel",
            {
                "model_card.json": export / "model_card.json",
                "training_data.parquet": train,
                "blessing.json": b'{"blessed": true}',
            },
        )
        assert stored == version
    store.promote(1, "first")
    assert production_reference(store, tmp_path).frame["temp"].tolist() == [0.1, 0.2]

    pointer = store.promote(2, "retrained on newer data")  # one atomic write names version and reference together
    assert pointer["reference"] == {
        "file": "2/assets.extra/training_data.parquet",
        "sha256": store.card(2)["lineage"]["data"]["train.parquet"],
    }
    renewed = production_reference(store, tmp_path)
    assert renewed.version == 2 and renewed.frame["temp"].tolist() == [0.7, 0.8, 0.9]

    store.rollback("v2 misbehaves")
    restored = production_reference(store, tmp_path)
    assert restored.version == 1 and restored.frame["temp"].tolist() == [0.1, 0.2]
    assert store.production()["reference"]["file"] == "1/assets.extra/training_data.parquet"

    (store.model_dir / "1/assets.extra/training_data.parquet").write_bytes(training_bytes(tmp_path))
    with pytest.raises(PipelineError, match="changed after promotion"):
        production_reference(store, tmp_path)

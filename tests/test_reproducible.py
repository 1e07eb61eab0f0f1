"""The helpers that keep DVC outs byte-reproducible: .keras archives, Evidently's ids, run facts kept outside."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tasks.core.reproducible import normalize_keras_archive, record_run, renumber_shared_objects, stable_ids

pytestmark = pytest.mark.timeout(300)


def as_if_saved_elsewhere(source: Path, target: Path) -> None:
    """A copy of a .keras archive as another process at another time would write it: other member dates, another
    date_saved, other memory addresses as shared_object_id."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "metadata.json":
                data = json.dumps({**json.loads(data), "date_saved": "2031-02-03@04:05:06"}).encode()
            if info.filename == "config.json":
                data = data.replace(b'"shared_object_id": ', b'"shared_object_id": 77')
            moved = zipfile.ZipInfo(info.filename, date_time=(2031, 2, 3, 4, 5, 6))
            zout.writestr(moved, data)


def test_keras_archives_of_one_model_become_identical_and_still_load(tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(3,))
    normalized = keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(4)(normalized)))
    model.save(tmp_path / "a.keras")
    as_if_saved_elsewhere(tmp_path / "a.keras", tmp_path / "b.keras")
    assert (tmp_path / "a.keras").read_bytes() != (tmp_path / "b.keras").read_bytes()

    for name in ("a.keras", "b.keras"):
        normalize_keras_archive(tmp_path / name)
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.keras") as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "date_saved" not in json.loads(archive.read("metadata.json"))

    x = np.arange(6, dtype="float32").reshape(2, 3)
    reloaded = keras.models.load_model(tmp_path / "a.keras")
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_shared_objects_are_numbered_by_first_appearance_keeping_which_are_the_same() -> None:
    config = {
        "a": {"shared_object_id": 140_000_123},
        "b": [{"shared_object_id": 99}, {"shared_object_id": 140_000_123}],
    }
    assert renumber_shared_objects(config) == {
        "a": {"shared_object_id": 1},
        "b": [{"shared_object_id": 2}, {"shared_object_id": 1}],
    }


def test_evidently_ids_are_renumbered_consistently() -> None:
    first = (
        '<div id="root_metric_30d26376e6844c8e9a23e8ae7392b32e"></div>'
        '{"id": "01a21eda-8f18-718b-9323-4f322cf01a47", "parent": "01a21eda-8f18-718b-9323-4f322cf01a47"}'
        "drawDashboard(metric_30d26376e6844c8e9a23e8ae7392b32e)"
    )
    second = (
        '<div id="root_metric_0cfe85f9433140729d044d4c75cfff05"></div>'
        '{"id": "01a21edb-7b26-7859-af94-d434aa1d75a2", "parent": "01a21edb-7b26-7859-af94-d434aa1d75a2"}'
        "drawDashboard(metric_0cfe85f9433140729d044d4c75cfff05)"
    )
    assert stable_ids(first) == stable_ids(second)
    assert stable_ids(first).count("metric_00000000000000000000000000000001") == 2
    assert '"id": "00000000-0000-0000-0000-000000000002", "parent": "00000000-0000-0000-0000-000000000002"' in (
        stable_ids(first)
    )


def test_run_facts_go_to_their_own_file_outside_the_outs(tmp_path: Path) -> None:
    path = record_run("train", {"fit_seconds": 1.5}, tmp_path / "runs")
    record = json.loads(path.read_text())
    assert path == tmp_path / "runs/train.json"
    assert record["fit_seconds"] == 1.5 and record["stage"] == "train" and record["host"] and record["finished_at"]

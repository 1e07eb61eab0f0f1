"""Training and export on a small slice of the real data (imports TensorFlow: about 10 s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.kinds.table_checks import feature_view
from tasks.kinds.table_source import select_before
from tasks.kinds.table_split import fit_feature_spec, split_by_time

HP = {
    "seed": 7,
    "epochs": 3,
    "batch_size": 64,
    "learning_rate": 0.003,
    "hidden_units": [16],
    "dropout": 0.0,
    "patience": 2,
}


@pytest.fixture(scope="module")
def splits(bike_source: pd.DataFrame) -> dict:
    view = feature_view(select_before(bike_source, PROBLEM, pd.Timestamp("2011-02-15")), PROBLEM)
    parts = split_by_time(view, "timestamp", 0.2, 0.2)
    return {**parts, "spec": fit_feature_spec(parts["train"], PROBLEM)}


@pytest.fixture(scope="module")
def trained(splits: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from tasks.training.fit import train_model

    out = tmp_path_factory.mktemp("model")
    summary = train_model(splits["train"], splits["val"], splits["spec"], HP, out, PROBLEM.build_model)
    return out, summary


def test_training_writes_model_history_and_tensorboard_logs(trained: tuple[Path, dict]) -> None:
    out, summary = trained
    assert (out / "model.keras").is_file()
    assert any((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert not (out / ".state").exists()  # a finished run leaves no resume state behind
    history = pd.read_csv(out / "history.csv")
    assert list(history.epoch) == list(range(summary["epochs_run"]))
    assert {"loss", "val_loss", "rmse", "val_rmse"} <= set(history.columns)
    assert 1 <= summary["best_epoch"] <= summary["epochs_run"] <= HP["epochs"]


def test_model_takes_raw_values_and_unseen_categories(splits: dict, trained: tuple[Path, dict]) -> None:
    import keras

    from tasks.training.fit import model_inputs

    model = keras.models.load_model(trained[0] / "model.keras")
    frame = splits["test"].head(3).copy()
    frame["weathersit"] = ["clear", "never seen before", "heavy rain/snow"]
    predictions = model.predict(model_inputs(frame, splits["spec"]), verbose=0)
    assert predictions.shape == (3, 1) and np.isfinite(predictions).all()


def test_export_reloads_as_a_savedmodel_with_equal_predictions(
    splits: dict, trained: tuple[Path, dict], tmp_path: Path
) -> None:
    import keras

    from tasks.training.export import export_savedmodel, max_reload_difference
    from tasks.training.fit import model_inputs

    model = keras.models.load_model(trained[0] / "model.keras")
    inputs = model_inputs(splits["test"], splits["spec"])
    export_savedmodel(model, tmp_path / "savedmodel")
    assert (tmp_path / "savedmodel/saved_model.pb").is_file()
    assert max_reload_difference(tmp_path / "savedmodel", model.predict(inputs, verbose=0), inputs) <= 1e-5


def test_same_seed_gives_the_same_model(splits: dict, trained: tuple[Path, dict], tmp_path: Path) -> None:
    from tasks.training.fit import train_model

    again = train_model(splits["train"], splits["val"], splits["spec"], HP, tmp_path, PROBLEM.build_model)
    assert again["best_val_loss"] == pytest.approx(trained[1]["best_val_loss"], rel=1e-6)


def test_training_takes_the_plans_precision_not_the_global_policy_an_earlier_caller_left(
    splits: dict, trained: tuple[Path, dict], tmp_path: Path
) -> None:
    """Keras' precision policy is process-global: a run must not inherit the float16 one a GPU test left set."""
    import keras

    from tasks.training.fit import train_model

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        again = train_model(splits["train"], splits["val"], splits["spec"], HP, tmp_path, PROBLEM.build_model)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert again["best_val_loss"] == pytest.approx(trained[1]["best_val_loss"], rel=1e-6)
    model = keras.models.load_model(tmp_path / "model.keras")
    assert {layer.compute_dtype for layer in model.layers if layer.weights} == {"float32"}

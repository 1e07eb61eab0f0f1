"""Regression scores, score directions, baselines, slices and permutation importance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.core.errors import PipelineError
from tasks.evaluation.slices import metrics_by_slice, parse_slices
from tasks.objectives.baselines import majority_class_baseline, mean_baseline
from tasks.objectives.importance import permutation_importance
from tasks.objectives.metrics import regression_metrics, relative_worsening


def test_regression_metrics_by_hand() -> None:
    scores = regression_metrics([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 3.0, 2.0])
    # errors 1, 0, 0, -2
    assert scores["rmse"] == pytest.approx(np.sqrt(5 / 4))
    assert scores["mae"] == pytest.approx(3 / 4)
    assert scores["bias"] == pytest.approx(-1 / 4)
    assert scores["r2"] == pytest.approx(1 - 5 / 5)


def test_relative_worsening_follows_each_metrics_direction() -> None:
    assert relative_worsening("rmse", 101.0, 100.0) == pytest.approx(0.01)  # higher error is worse
    assert relative_worsening("rmse", 99.0, 100.0) == pytest.approx(-0.01)
    assert relative_worsening("r2", 0.76, 0.80) == pytest.approx(0.05)  # lower R² is worse
    assert relative_worsening("accuracy", 0.9, 0.9) == 0.0
    with pytest.raises(ValueError, match="no better direction"):
        relative_worsening("bias", 1.0, 2.0)


def test_mean_and_majority_baselines_use_the_training_split_only() -> None:
    train = pd.DataFrame({"y": [1.0, 3.0], "label": ["cat", "cat"]})
    test = pd.DataFrame({"y": [100.0, 200.0, 300.0]})
    assert mean_baseline(train, "y")(test).tolist() == [2.0, 2.0, 2.0]
    proba = majority_class_baseline(train.assign(label=["cat", "dog"]).iloc[[0, 0, 1]], "label", ["dog", "cat"])(test)
    assert proba.shape == (3, 2)
    assert proba[0].tolist() == pytest.approx([1 / 3, 2 / 3])


FRAME = pd.DataFrame({"hr": [0, 5, 7, 12, 17, 23], "weather": ["clear", "rain", "clear", "rain", "clear", "clear"]})


def test_slices_by_value_and_by_band_with_their_metrics() -> None:
    slices = parse_slices(
        ["weather", {"column": "hr", "name": "band", "bins": [0, 6, 12, 24], "labels": ["night", "am", "pm"]}],
        list(FRAME.columns),
    )
    actual = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    predicted = actual + np.array([1.0, -2.0, 0.0, 2.0, 3.0, -3.0])
    rows = metrics_by_slice(FRAME, slices, actual, predicted, regression_metrics)

    by_key = {(r["slice"], r["value"]): r for r in rows}
    assert [r["value"] for r in rows if r["slice"] == "band"] == ["night", "am", "pm"]  # band order, not sorted
    assert by_key[("band", "night")]["rows"] == 2
    assert by_key[("band", "am")]["rows"] == 1  # 7 is in [6, 12); 12 starts the next band
    assert by_key[("weather", "rain")]["rmse"] == pytest.approx(2.0)
    assert by_key[("band", "pm")]["mae"] == pytest.approx((2 + 3 + 3) / 3)


def test_slice_params_errors_name_the_entry() -> None:
    with pytest.raises(PipelineError, match=r"evaluate.slices\[0\]'.*'wind' is not in the test split"):
        parse_slices([{"column": "wind"}], list(FRAME.columns))
    with pytest.raises(PipelineError, match=r"evaluate.slices\[0\]'.*increasing"):
        parse_slices([{"column": "hr", "bins": [6, 0]}], list(FRAME.columns))
    with pytest.raises(PipelineError, match="used twice"):
        parse_slices(["hr", "hr"], list(FRAME.columns))


def test_permutation_importance_ranks_the_feature_the_model_uses_and_zeroes_the_one_it_ignores() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"signal": rng.normal(size=300), "noise": rng.normal(size=300)})
    actual = 3 * frame["signal"].to_numpy()
    calls = []

    def predict(f: pd.DataFrame) -> np.ndarray:
        calls.append(len(f))
        return 3 * f["signal"].to_numpy()

    rows = permutation_importance(
        predict,
        frame,
        actual,
        ["noise", "signal"],
        lambda a, p: regression_metrics(a, p)["rmse"],
        lower_is_better=True,
        repeats=4,
        seed=0,
    )
    assert [r["feature"] for r in rows] == ["signal", "noise"]
    assert rows[0]["score_loss_mean"] > 3.0
    assert rows[1]["score_loss_mean"] == 0.0
    assert calls == [300, 300 * 2 * 4]  # once plain, once for every shuffle stacked together

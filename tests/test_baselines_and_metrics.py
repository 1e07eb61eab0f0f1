import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM, mean_by_hour_and_workingday
from tasks.evaluation.gate import GatePolicy, decide_blessing
from tasks.objectives.metrics import regression_metrics


def test_regression_metrics_on_known_values() -> None:
    scores = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0]))
    assert scores["rmse"] == pytest.approx(1.0)
    assert scores["mae"] == pytest.approx(0.5)
    assert scores["r2"] == pytest.approx(1 - 4 / 5)


def test_common_sense_baseline_is_the_mean_for_the_same_hour_and_working_day() -> None:
    train = pd.DataFrame({"hr": [8, 8, 8, 9], "workingday": [1, 1, 0, 1], "bikers": [100, 200, 30, 50]})
    predict = mean_by_hour_and_workingday(train)
    got = predict(pd.DataFrame({"hr": [8, 8, 23], "workingday": [1, 0, 1]}))
    np.testing.assert_allclose(got, [150.0, 30.0, train.bikers.mean()])
    assert PROBLEM.common_sense_baseline is mean_by_hour_and_workingday


def test_blessing_requires_beating_every_baseline() -> None:
    model = {"rmse": 50.0, "mae": 30.0, "r2": 0.8}
    baselines = {"common_sense": {"rmse": 120.0}, "linear": {"rmse": 45.0}}
    blessing = decide_blessing(model, baselines, None, GatePolicy(primary_metric="rmse"))
    assert blessing["blessed"] is False
    assert any("linear baseline" in r and "does not beat it" in r for r in blessing["failed"])
    lenient = GatePolicy(primary_metric="rmse", require_beating_baselines=False)
    assert decide_blessing(model, baselines, None, lenient)["blessed"] is True

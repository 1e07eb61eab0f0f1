import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.errors import PipelineError
from tasks.kinds.table_checks import feature_view
from tasks.kinds.table_source import select_before
from tasks.kinds.table_split import fit_feature_spec, split_by_time


@pytest.fixture(scope="module")
def frame(bike_source: pd.DataFrame) -> pd.DataFrame:
    view = feature_view(select_before(bike_source, PROBLEM, pd.Timestamp("2011-05-01")), PROBLEM)
    return view.sample(frac=1.0, random_state=0)  # shuffled on purpose: the split must sort by time


def test_splits_by_time_without_overlap(frame: pd.DataFrame) -> None:
    parts = split_by_time(frame, "timestamp", 0.15, 0.15)
    assert parts["train"].timestamp.max() < parts["val"].timestamp.min()
    assert parts["val"].timestamp.max() < parts["test"].timestamp.min()
    assert sum(len(p) for p in parts.values()) == len(frame)
    assert abs(len(parts["test"]) - 0.15 * len(frame)) <= 1


def test_statistics_come_from_the_training_split_only(frame: pd.DataFrame) -> None:
    parts = split_by_time(frame, "timestamp", 0.15, 0.15)
    spec = fit_feature_spec(parts["train"], PROBLEM)
    assert spec["numeric"]["temp"]["mean"] == pytest.approx(parts["train"].temp.mean())
    assert spec["numeric"]["temp"]["mean"] != pytest.approx(frame.temp.mean())
    assert spec["categorical"]["weathersit"]["dtype"] == "string"
    assert spec["categorical"]["hr"]["vocabulary"] == list(range(24))
    assert set(spec["numeric"]) | set(spec["categorical"]) == set(PROBLEM.features)


def test_rejects_fractions_that_leave_no_training_data(frame: pd.DataFrame) -> None:
    with pytest.raises(PipelineError, match=r"val_fraction \+ featurize\.test_fraction must be < 1"):
        split_by_time(frame, "timestamp", 0.6, 0.5)


def test_a_column_the_suite_lets_be_missing_gets_its_policy_though_training_has_no_gap(frame: pd.DataFrame) -> None:
    parts = split_by_time(frame, "timestamp", 0.15, 0.15)
    spec = fit_feature_spec(parts["train"], PROBLEM, frozenset({"temp", "weathersit"}))
    assert spec["numeric"]["temp"]["missing"] == {"policy": "impute_mean_with_indicator", "share": 0.0}
    assert spec["categorical"]["weathersit"]["missing"]["policy"] == "category"
    assert "missing" not in spec["numeric"]["hum"]  # not named, no gap: described as before


def test_a_numeric_column_without_any_training_value_is_refused_by_name(frame: pd.DataFrame) -> None:
    train = split_by_time(frame, "timestamp", 0.15, 0.15)["train"].assign(hum=float("nan"))
    with pytest.raises(PipelineError, match=r"feature column 'hum' has no value in the \d+ training row"):
        fit_feature_spec(train, PROBLEM)

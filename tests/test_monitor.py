"""The monitor stage's verdict is the monitoring loop's calibrated rule (tasks/monitoring/drift.py over
tasks/monitoring/data_drift.py):
quiet on data like the training data, loud on a later season or a corrupted column, and pinned on the bundled window."""

import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.params import Params
from tasks.kinds.table_drift import NO_TIME, current_window, measure_drift
from tasks.monitoring.drift import measurer
from tasks.monitoring.drift_input import DriftSettings

DEFAULT = measurer(DriftSettings())  # params.yaml's monitoring.drift: only expected_to_change, empty
CALENDAR = measurer(
    DriftSettings(expected_to_change=("season",))
)  # season changes by construction: measured, not counted
TRAINING_END = pd.Timestamp("2011-03-27 01:00")  # the bundled data's training split ends here (featurize, by time)


@pytest.fixture(scope="module")
def with_time(bike_source: pd.DataFrame) -> pd.DataFrame:
    return bike_source.assign(timestamp=PROBLEM.derive_timestamp(bike_source))


@pytest.fixture(scope="module")
def training_split(with_time: pd.DataFrame) -> pd.DataFrame:
    return with_time[with_time.timestamp < TRAINING_END]


def test_window_takes_the_days_after_as_of(bike_source: pd.DataFrame) -> None:
    window = current_window(bike_source, PROBLEM, pd.Timestamp("2011-05-01"), 30)
    assert window.timestamp.min() >= pd.Timestamp("2011-05-01")
    assert window.timestamp.max() < pd.Timestamp("2011-05-31")
    assert len(window) == 720


def test_the_rows_right_after_training_give_no_alarm(with_time: pd.DataFrame, training_split: pd.DataFrame) -> None:
    after = with_time[(with_time.timestamp >= TRAINING_END) & (with_time.timestamp < "2011-04-13 14:00")]
    summary, _ = measure_drift(training_split, after, PROBLEM, CALENDAR)
    assert (summary["verdict"], summary["dataset_drift"], summary["signals_fired"]) == ("no_drift", False, [])
    assert summary["drifted_columns"] == [] and summary["drift_share"] == 0
    assert (summary["reference_rows"], summary["current_rows"]) == (1950, 418)


def test_a_later_season_alarms_in_temperature(with_time: pd.DataFrame, training_split: pd.DataFrame) -> None:
    july = with_time[(with_time.timestamp >= "2011-07-01") & (with_time.timestamp < "2011-08-01")]
    summary, _ = measure_drift(training_split, july, PROBLEM, DEFAULT)
    assert summary["verdict"] == "drift" and summary["dataset_drift"] is True
    assert {"temp", "atemp", "bikers"} <= set(summary["drifted_columns"])
    assert "data_drift" in summary["signals_fired"]
    assert summary["why"]["temp"].startswith("drifted: ")


def test_a_corrupted_column_alarms_and_only_that_column(with_time: pd.DataFrame, training_split: pd.DataFrame) -> None:
    after = with_time[(with_time.timestamp >= TRAINING_END) & (with_time.timestamp < "2011-04-13 14:00")]
    broken = after.assign(hum=after.hum * 0.5)  # a sensor that halves humidity
    summary, _ = measure_drift(training_split, broken, PROBLEM, CALENDAR)
    assert summary["verdict"] == "drift" and "data_drift" in summary["signals_fired"]
    assert summary["drifted_columns"] == ["hum"]


def test_the_bundled_default_window_is_pinned(bike_source: pd.DataFrame, training_split: pd.DataFrame) -> None:
    """collect.as_of 2011-05-01, 30 days: May is warmer, more humid and busier than January to March (temp's mean
    2.6 training stds higher, riders' 1.7), beyond anything the training data's own windows show: the calibrated
    rule says drift, as production monitoring says of May's traffic. Pinned so a change of rule or data shows."""
    may = current_window(bike_source, PROBLEM, pd.Timestamp("2011-05-01"), 30)
    summary, _ = measure_drift(training_split, may, PROBLEM, DEFAULT)
    assert summary["verdict"] == "drift"
    assert summary["signals_fired"] == ["data_drift", "adversarial"]
    assert summary["drifted_columns"] == ["temp", "atemp", "hum", "bikers", "season"]
    summary, _ = measure_drift(training_split, may, PROBLEM, CALENDAR)
    assert summary["drifted_columns"] == ["temp", "atemp", "hum", "bikers"]


def test_a_table_without_time_says_why_there_is_nothing_to_compare() -> None:
    from pipelines.breast_cancer import PROBLEM as NO_TIME_PROBLEM
    from tasks.kinds.table_drift import drift

    result = drift(NO_TIME_PROBLEM, Params({"problem": "breast_cancer"}), pd.DataFrame(), {}, DEFAULT)
    assert result.summary["status"] == "no_data" and result.summary["dataset_drift"] is False
    assert result.summary["reason"] == NO_TIME.format(name="breast_cancer")
    assert "no time column" in result.summary["reason"] and "window" not in result.summary

import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.kinds.table_drift import current_window, measure_drift


@pytest.fixture(scope="module")
def with_time(bike_source: pd.DataFrame) -> pd.DataFrame:
    return bike_source.assign(timestamp=PROBLEM.derive_timestamp(bike_source))


def test_window_takes_the_days_after_as_of(bike_source: pd.DataFrame) -> None:
    window = current_window(bike_source, PROBLEM, pd.Timestamp("2011-05-01"), 30)
    assert window.timestamp.min() >= pd.Timestamp("2011-05-01")
    assert window.timestamp.max() < pd.Timestamp("2011-05-31")
    assert len(window) == 720


def test_same_period_shows_no_drift(with_time: pd.DataFrame) -> None:
    january = with_time[with_time.timestamp < "2011-02-01"]
    summary, _ = measure_drift(january.iloc[::2], january.iloc[1::2], PROBLEM, drift_share=0.5)
    assert summary["dataset_drift"] is False
    assert summary["drift_share"] < 0.5


def test_winter_against_summer_drifts_in_temperature(with_time: pd.DataFrame) -> None:
    january = with_time[with_time.timestamp < "2011-02-01"]
    july = with_time[(with_time.timestamp >= "2011-07-01") & (with_time.timestamp < "2011-08-01")]
    summary, _ = measure_drift(january, july, PROBLEM, drift_share=0.3)
    assert {"temp", "atemp", "bikers"} <= set(summary["drifted_columns"])
    assert summary["dataset_drift"] is True
    assert summary["drift_share"] == pytest.approx(len(summary["drifted_columns"]) / summary["columns_checked"])

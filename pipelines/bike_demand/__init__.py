"""Hourly bike demand (Capital Bikeshare 2011): regression of `bikers` per hour.

Frame: predict how many bikes are rented in an hour from the calendar and the weather, so a fleet can be staffed.
`casual + registered == bikers`: both are leakage and never features. The rows carry no date: the timestamp is
2011-01-01 + (day - 1) days + hr hours.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.problem import TabularProblem
from pipelines.tabular_model import build_dense_regressor

YEAR_START = pd.Timestamp("2011-01-01")


def derive_timestamp(frame: pd.DataFrame) -> pd.Series:
    """Hour of each row: 2011-01-01 + (day - 1) days + hr hours; NaT where `day` or `hr` is not a number."""
    day = pd.to_numeric(frame["day"], errors="coerce")
    hour = pd.to_numeric(frame["hr"], errors="coerce")
    return YEAR_START + pd.to_timedelta(day - 1, unit="D") + pd.to_timedelta(hour, unit="h")


def mean_by_hour_and_workingday(train: pd.DataFrame) -> Callable[[pd.DataFrame], np.ndarray]:
    """Common-sense baseline: the training mean of `bikers` for the same hour and working-day flag.

    Combinations unseen in training fall back to the overall training mean.
    """
    keys = ["hr", "workingday"]
    table = train.groupby(keys)["bikers"].mean()
    overall = float(train["bikers"].mean())

    def predict(frame: pd.DataFrame) -> np.ndarray:
        index = pd.MultiIndex.from_frame(frame[keys])
        return table.reindex(index).fillna(overall).to_numpy(dtype="float64")

    return predict


PROBLEM = TabularProblem(
    name="bike_demand",
    task="regression",
    target="bikers",
    timestamp="timestamp",
    numeric_features=("temp", "atemp", "hum", "windspeed"),
    # `mnth` is left out on purpose: split by time, the test months (and every month monitoring sees) are
    # never in the training part, so the model could only learn an out-of-vocabulary bucket for them.
    categorical_features=("season", "hr", "holiday", "weekday", "workingday", "weathersit"),
    leakage_columns=("casual", "registered"),
    source_columns=(
        "season",
        "mnth",
        "day",
        "hr",
        "holiday",
        "weekday",
        "workingday",
        "weathersit",
        "temp",
        "atemp",
        "hum",
        "windspeed",
        "casual",
        "registered",
        "bikers",
    ),
    expectations_dir=Path(__file__).parent / "expectations",
    derive_timestamp=derive_timestamp,
    build_model=build_dense_regressor,
    common_sense_baseline=mean_by_hour_and_workingday,
    description="Hourly bike rentals in Washington D.C., 2011 (UCI Bike Sharing, CC BY 4.0).",
    # What the data means, for `python -m tasks.checks.infer_schema` (instead of observed range + margin): weather
    # values
    # are normalised to 0..1, `day` is the day of the year, counts are never negative. `day` places a row in time:
    # a batch covers a few months, so its distribution is not compared with the whole year's.
    extra={
        "unit": "bikers per hour",  # how reports state errors, in the business's terms
        "calendar_columns": ("day",),
        "value_ranges": {
            "day": (1, 366),
            "temp": (0.0, 1.0),
            "atemp": (0.0, 1.0),
            "hum": (0.0, 1.0),
            "windspeed": (0.0, 1.0),
            "casual": (0, 5000),
            "registered": (0, 5000),
            "bikers": (0, 5000),
        },
    },
)

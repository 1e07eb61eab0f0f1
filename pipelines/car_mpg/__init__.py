"""Car fuel economy (vega_datasets 0.9.0's local `cars`, the StatLib / UCI Auto MPG table, Donoho & Ramos 1982):
regression of `Miles_per_Gallon` from the engine, the weight, the origin and the model year, for the model years
1970 to 1982.

A table with a date column (`Year`, the model year as YYYY-01-01) and missing values (8 cars without a fuel
economy, 6 without horsepower): the split is by time (older model years train, newer ones test) and collect.as_of
holds the last model year back for monitor. The model year is also a feature: newer cars go further per gallon
(the 1970s fuel crises, CAFE from 1978), so a model that does not know the year underestimates every newer car.
collect.read.value_map turns the date into the number of the year (`1975-01-01` -> 1975) so that the model and a
request take it as a number; the time is derived from that number. The bundled pipelines/car_mpg/data/cars.csv is
the package's `_data/cars.json` written as CSV (same rows and values, no other change). `Name` (a car's make and
model) has hundreds of values: it is read and checked, never a feature.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.problem import TabularProblem
from pipelines.tabular_model import build_dense_regressor


def model_year(frame: pd.DataFrame) -> pd.Series:
    """The `Year` column (the model year's number, 1975) as a time, 1975-01-01 (NaT where it is not a year)."""
    return pd.to_datetime(pd.to_numeric(frame["Year"], errors="coerce"), format="%Y", errors="coerce")


PROBLEM = TabularProblem(
    name="car_mpg",
    task="regression",
    target="Miles_per_Gallon",
    timestamp="timestamp",
    numeric_features=("Displacement", "Horsepower", "Weight_in_lbs", "Acceleration", "Year"),
    categorical_features=("Cylinders", "Origin"),
    leakage_columns=(),
    source_columns=(
        "Name",
        "Miles_per_Gallon",
        "Cylinders",
        "Displacement",
        "Horsepower",
        "Weight_in_lbs",
        "Acceleration",
        "Year",
        "Origin",
    ),
    expectations_dir=Path(__file__).parent / "expectations",
    derive_timestamp=model_year,
    build_model=build_dense_regressor,
    description="406 cars of model years 1970-1982 (StatLib / UCI Auto MPG, via vega_datasets).",
    extra={"unit": "miles per gallon"},
)

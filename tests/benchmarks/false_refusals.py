"""Figure: the false-refusal rate of validation on clean batches, and what it catches on poisoned ones.

    .venv/bin/python tests/benchmarks/false_refusals.py

Each later month of the bundled bike data (after collect.as_of, the months the production model never saw) is
validated as one batch, exactly as the validate stage checks data/raw: both committed suites, the extra checks and
the committed reference profile. Then the same months with a poison each (two columns swapped, humidity x0.6, the
target x1.5). Prints one line per batch and the rates. Not a test (nothing asserts; tests/test_reference_checks.py
pins the behaviour).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from pipelines import load_problem
from tasks.core.params import Params
from tasks.kinds.table_checks import (
    ValidateSettings,
    load_reference_profile,
    load_suite_json,
    validate_stream,
)
from tasks.kinds.table_source import select_before

POISONS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "temp<->hum swapped": lambda f: f.assign(temp=f["hum"], hum=f["temp"]),
    "hum<->windspeed swapped": lambda f: f.assign(hum=f["windspeed"], windspeed=f["hum"]),
    "hum x0.6": lambda f: f.assign(hum=(f["hum"] * 0.6).round(2)),
    "bikers x1.5": lambda f: f.assign(bikers=(f["bikers"] * 1.5).round().astype("int64")),
}


def main() -> None:
    params = Params.load()
    problem = load_problem("bike_demand")
    source = pd.read_csv(params.get("collect.source", str))
    frame = select_before(source, problem, None)
    as_of = pd.Timestamp(params.get("collect.as_of", str))
    suites = load_suite_json(problem.suite_path("raw")), load_suite_json(problem.suite_path("features"))
    profile = load_reference_profile(problem)
    settings = ValidateSettings(max_gap=pd.Timedelta("1d"), now=pd.Timestamp("2012-01-01"))
    later = frame.loc[frame[problem.timestamp] >= as_of]
    months = [g.reset_index(drop=True) for _, g in later.groupby(later[problem.timestamp].dt.to_period("M"))]
    for name, poison in {"clean": lambda f: f, **POISONS}.items():
        refused = 0
        for month in months:
            outcome = validate_stream([poison(month)], *suites, problem, settings, reference=profile).outcome
            refused += not outcome.success
            failed = sorted({f"{f.expectation.removeprefix('expect_')} on {f.column}" for f in outcome.failures})
            label = month[problem.timestamp].iloc[0].strftime("%Y-%m")
            print(f"{name:24s} {label}: {'REFUSED' if not outcome.success else 'passed'} {failed[:3]}")
        print(f"== {name}: refused {refused} of {len(months)} monthly batches ({refused / len(months):.0%})")


if __name__ == "__main__":
    main()

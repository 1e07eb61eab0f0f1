"""Checks at the door against the reference's month-to-month variation (tasks/kinds/table_reference.py): every clean
later month of the bundled data passes, while a column swap, an in-range rescale and a label shift fail, naming the
columns and the size of the shift."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.checks.findings import Finding
from tasks.core.errors import PipelineError
from tasks.kinds.table_checks import (
    ValidateSettings,
    failure_message,
    load_reference_profile,
    load_suite_json,
    validate_stream,
)
from tasks.kinds.table_reference import ProfileSettings, check_profile, infer_reference_profile
from tasks.kinds.table_source import select_before

pytestmark = pytest.mark.timeout(300)
AS_OF = pd.Timestamp("2011-05-01")  # the bundled params' collect.as_of: the reference is what came before


@pytest.fixture(scope="module")
def timed(bike_source: pd.DataFrame) -> pd.DataFrame:
    return select_before(bike_source, PROBLEM, None)


@pytest.fixture(scope="module")
def later_months(timed: pd.DataFrame) -> dict[str, pd.DataFrame]:
    later = timed.loc[timed["timestamp"] >= AS_OF]
    return {str(m): g.reset_index(drop=True) for m, g in later.groupby(later["timestamp"].dt.to_period("M"))}


def failures(batch: pd.DataFrame) -> tuple[list[Finding], str]:
    suites = load_suite_json(PROBLEM.suite_path("raw")), load_suite_json(PROBLEM.suite_path("features"))
    settings = ValidateSettings(max_gap=pd.Timedelta("1d"), now=pd.Timestamp("2012-01-01"))
    outcome = validate_stream([batch], *suites, PROBLEM, settings, reference=load_reference_profile(PROBLEM)).outcome
    return outcome.failures, failure_message(outcome, Path("data/raw/data.parquet")) if outcome.failures else ""


def test_every_clean_later_month_passes_as_a_batch(later_months: dict[str, pd.DataFrame]) -> None:
    assert list(later_months) == [f"2011-{m:02d}" for m in range(5, 13)]
    refused = {month: [f.describe() for f in failures(batch)[0]] for month, batch in later_months.items()}
    assert refused == {month: [] for month in later_months}


@pytest.mark.parametrize("month", ["2011-05", "2011-07", "2011-09", "2011-12"])
def test_two_swapped_columns_with_similar_ranges_fail_naming_them(
    later_months: dict[str, pd.DataFrame], month: str
) -> None:
    batch = later_months[month]
    found, message = failures(batch.assign(temp=batch["hum"], hum=batch["temp"]))
    columns = {f.column for f in found}
    assert "temp, atemp" in columns  # atemp no longer tracks temp
    assert all(f.suite == "bike_demand.reference" for f in found)  # every value is still in its valid range
    assert f"{month}: -" in message and "x the reference's month-to-month spread" in message


@pytest.mark.parametrize("month", ["2011-05", "2011-07", "2011-09", "2011-12"])
def test_an_in_range_rescale_fails_naming_the_column_and_the_shift(
    later_months: dict[str, pd.DataFrame], month: str
) -> None:
    batch = later_months[month]
    found, message = failures(batch.assign(hum=(batch["hum"] * 0.6).round(2)))
    assert [(f.column, f.expectation) for f in found] == [("hum", "expect_column_q95_to_be_between_reference_months")]
    assert "column 'hum'" in message and "below the band by" in message


def test_a_relabelled_target_breaks_the_exact_sum_the_reference_always_had(
    later_months: dict[str, pd.DataFrame],
) -> None:
    batch = later_months["2011-07"]
    found, message = failures(batch.assign(bikers=(batch["bikers"] * 1.5).round().astype("int64")))
    assert [f.column for f in found] == ["casual + registered == bikers"]
    assert "2011-07: holds in 0.0% of the rows" in message


def test_a_month_with_too_few_rows_is_not_judged(later_months: dict[str, pd.DataFrame]) -> None:
    batch = later_months["2011-07"].iloc[:100]  # four days: its statistics would be noise
    assert failures(batch.assign(hum=(batch["hum"] * 0.6).round(2)))[0] == []


def test_the_profile_bounds_only_what_the_reference_months_hold_steady(timed: pd.DataFrame) -> None:
    reference = timed.loc[timed["timestamp"] < AS_OF]
    profile = infer_reference_profile(reference, "r", "timestamp", [*PROBLEM.categorical_features, "day"])
    assert profile is not None and list(profile["meta"]["reference_months"]) == [
        "2011-01",
        "2011-02",
        "2011-03",
        "2011-04",
    ]
    bounded = {(e["type"], e["kwargs"]["column"]) for e in profile["expectations"]}
    # temperature and demand rise month after month: their level is seasonal, never bounded by four winter months
    assert not {c for t, c in bounded if c in ("temp", "atemp", "bikers") and ("mean" in t or "q50" in t)}
    assert ("expect_column_std_to_be_between_reference_months", "temp") in bounded
    assert ("expect_column_q95_to_be_between_reference_months", "hum") in bounded
    assert ("expect_column_pair_correlation_to_be_between_reference_months", "temp, atemp") in bounded
    assert ("expect_column_sum_to_equal_reference_relation", "casual + registered == bikers") in bounded
    committed = json.loads(PROBLEM.suite_path("reference").read_text())
    assert committed["expectations"] == profile["expectations"]


def test_too_few_reference_months_give_no_profile(timed: pd.DataFrame) -> None:
    two_months = timed.loc[timed["timestamp"] < pd.Timestamp("2011-03-01")]
    assert infer_reference_profile(two_months, "r", "timestamp", ["day"], ProfileSettings()) is None


def test_a_profile_of_unknown_checks_is_refused_naming_the_file_and_entry() -> None:
    with pytest.raises(PipelineError, match=r"reference.json: expectations\[0\] has type 'expect_magic'"):
        check_profile({"timestamp": "t", "expectations": [{"type": "expect_magic", "kwargs": {}}]}, "x/reference.json")


def test_a_profile_without_time_never_judges(later_months: dict[str, pd.DataFrame]) -> None:
    from tasks.kinds.table_reference import ReferenceChecks

    profile = json.loads(PROBLEM.suite_path("reference").read_text())
    checks = ReferenceChecks(profile)
    checks.update(later_months["2011-07"].drop(columns="timestamp").assign(hum=np.nan))
    assert all(r.success for r in checks.finish())


def stream(profile: dict, frame: pd.DataFrame, chunk_rows: int) -> tuple[list, int]:
    """Results of ReferenceChecks over `frame` in chunks, and the most month samples it held at once."""
    from tasks.kinds.table_reference import ReferenceChecks

    checks, held = ReferenceChecks(profile), 0
    for start in range(0, len(frame), chunk_rows):
        checks.update(frame.iloc[start : start + chunk_rows])
        held = max(held, len(checks.samples))
    return checks.finish(), held


def test_months_are_measured_as_the_rows_move_past_them_so_memory_stays_bounded(timed: pd.DataFrame) -> None:
    profile = json.loads(PROBLEM.suite_path("reference").read_text())
    year = timed.assign(hum=timed["hum"].where(timed["timestamp"].dt.month != 10, timed["hum"] * 0.6))
    whole, _ = stream(profile, year, len(year))
    chunked, held = stream(profile, year, 500)
    assert held <= 2  # the month being read (and the one a chunk started in), never the year
    assert [(r.success, r.result.get("partial_unexpected_list")) for r in chunked] == [
        (r.success, r.result.get("partial_unexpected_list")) for r in whole
    ]
    assert [r.kwargs["column"] for r in chunked if not r.success] == ["hum"]


def test_rows_out_of_time_order_are_judged_as_a_part_of_their_own(timed: pd.DataFrame) -> None:
    profile = json.loads(PROBLEM.suite_path("reference").read_text())
    june, july = (timed.loc[timed["timestamp"].dt.month == m] for m in (6, 7))
    late = june.iloc[400:].assign(hum=june["hum"].iloc[400:] * 0.6)  # 320 June rows arriving after July
    results, _ = stream(profile, pd.concat([june.iloc[:400], july, late]), 400)
    [failed] = [r for r in results if not r.success]
    assert failed.kwargs["column"] == "hum"
    shown = failed.result["partial_unexpected_list"][0]  # the late rows span chunks: parts 2 (too few rows) and 3
    assert shown.startswith("2011-06 (part 3: rows out of time order): 0.") and "below the band" in shown

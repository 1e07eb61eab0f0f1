"""A gap longer than validate.max_gap inside the collected window (a missing month) fails validation by default;
`validate.gap_severity: warning` only warns; the bundled data (longest gap 23 h) passes."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.kinds.table_checks import ValidateSettings, load_suite_json, validate_stream
from tasks.kinds.table_source import select_before


@pytest.fixture(scope="module")
def raw(bike_source: pd.DataFrame) -> pd.DataFrame:
    return select_before(bike_source, PROBLEM, pd.Timestamp("2011-05-01"))


def gap_findings(frame: pd.DataFrame, severity: str) -> tuple[bool, list]:
    settings = ValidateSettings(max_gap=pd.Timedelta("1d"), gap_severity=severity, now=pd.Timestamp("2012-01-01"))
    result = validate_stream(
        [frame],
        load_suite_json(PROBLEM.suite_path("raw")),
        load_suite_json(PROBLEM.suite_path("features")),
        PROBLEM,
        settings,
    )
    return result.outcome.success, [f for f in result.outcome.findings if f.expectation == "no_gaps_longer_than"]


def test_a_missing_month_fails_validation_by_default(raw: pd.DataFrame) -> None:
    assert ValidateSettings().gap_severity == "critical"
    month = raw["timestamp"].dt.month == 3
    success, [gap] = gap_findings(raw.loc[~month].reset_index(drop=True), "critical")
    assert not success and not gap.success and gap.fails_run
    assert "2011-02-28T23:00:00 -> 2011-04-01T00:00:00" in str(gap.sample_bad_values)


def test_a_gap_only_warns_when_told_to(raw: pd.DataFrame) -> None:
    month = raw["timestamp"].dt.month == 3
    _, [gap] = gap_findings(raw.loc[~month].reset_index(drop=True), "warning")
    assert not gap.success and not gap.fails_run


def test_the_bundled_months_have_no_gap_that_fails(raw: pd.DataFrame) -> None:
    success, [gap] = gap_findings(raw, "critical")
    assert gap.success and success

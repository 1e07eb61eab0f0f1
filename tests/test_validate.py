"""Great Expectations validation of the bike data against the committed suites."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.kinds.table_checks import feature_view, load_suite_json, run_suites
from tasks.kinds.table_source import select_before


@pytest.fixture(scope="module")
def raw(bike_source: pd.DataFrame) -> pd.DataFrame:
    return select_before(bike_source, PROBLEM, pd.Timestamp("2011-03-01"))


def validate(frame: pd.DataFrame):
    suites = [load_suite_json(PROBLEM.suite_path("raw")), load_suite_json(PROBLEM.suite_path("features"))]
    return run_suites([(suites[0], frame), (suites[1], feature_view(frame, PROBLEM))], docs_dir=None)


def failed(outcome) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in outcome.failures}


def test_bundled_data_passes_every_expectation(raw: pd.DataFrame) -> None:
    outcome = validate(raw)
    assert outcome.success, [f.describe() for f in outcome.failures]
    assert len(outcome.findings) > 40


def test_out_of_range_values_are_reported_with_samples(raw: pd.DataFrame) -> None:
    bad = raw.copy()
    bad.loc[[3, 4], "hum"] = [1.7, -0.2]
    outcome = validate(bad)
    [finding] = [f for f in outcome.failures if f.column == "hum"]
    assert finding.expectation == "expect_column_values_to_be_between"
    assert sorted(finding.sample_bad_values) == [-0.2, 1.7]
    assert "column 'hum'" in finding.describe()


def test_unknown_category_and_duplicate_timestamps_fail(raw: pd.DataFrame) -> None:
    bad = raw.copy()
    bad.loc[0, "weathersit"] = "hail"
    bad.loc[1, "timestamp"] = bad.loc[2, "timestamp"]
    assert failed(validate(bad)) >= {
        ("expect_column_values_to_be_in_set", "weathersit"),
        ("expect_column_values_to_be_unique", "timestamp"),
    }


def test_a_leakage_column_among_the_features_fails_the_features_suite(raw: pd.DataFrame) -> None:
    suite = load_suite_json(PROBLEM.suite_path("features"))
    leaky = feature_view(raw, PROBLEM).assign(casual=raw["casual"])
    outcome = run_suites([(suite, leaky)], docs_dir=None)
    assert ("expect_table_columns_to_match_set", None) in failed(outcome)


def test_the_feature_view_never_carries_leakage_columns(raw: pd.DataFrame) -> None:
    assert not {"casual", "registered"} & set(feature_view(raw, PROBLEM).columns)


def test_a_string_in_a_numeric_column_is_named_with_the_bad_value(raw: pd.DataFrame) -> None:
    bad = raw.astype({"temp": object})
    bad.loc[7, "temp"] = "warm"
    outcome = validate(bad)
    [finding] = [f for f in outcome.failures if f.expectation == "expect_column_values_to_be_in_type_list"]
    assert finding.column == "temp"
    assert finding.sample_bad_values == ["warm"]
    assert "column 'temp'" in finding.describe() and "'warm'" in finding.describe()

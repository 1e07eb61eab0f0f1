"""A categorical column above the category limit: infer_schema warns naming it and checks the top-k set with an
"other" share instead (never no check at all); a batch of mostly unseen values is then reported."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from tasks.checks.expectations import evaluate_suite
from tasks.checks.infer_schema import column_expectations

pytestmark = pytest.mark.timeout(60)


def reference() -> pd.Series:
    # 41 values (like the census's native-country): 'a' 60 times, 'b' 20 times, 39 rare ones once each
    values = ["a"] * 60 + ["b"] * 20 + [f"rare{i:02d}" for i in range(39)]
    return pd.Series(values, name="native-country", dtype=object)


def test_a_column_above_the_limit_warns_naming_it_and_gets_a_top_k_set_check(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        expectations = column_expectations(reference(), 0.1, 30, None)
    [in_set] = [e for e in expectations if e["type"] == "expect_column_values_to_be_in_set"]
    assert len(in_set["kwargs"]["value_set"]) == 30 and {"a", "b"} <= set(in_set["kwargs"]["value_set"])
    assert in_set["severity"] == "warning"
    other = in_set["meta"]["high_cardinality"]["other_share"]
    assert other == pytest.approx(11 / 119, abs=1e-4)  # the 11 rare values that are not among the top 30
    assert in_set["kwargs"]["mostly"] == pytest.approx(1 - other - 0.05, abs=1e-4)
    [message] = [r.getMessage() for r in caplog.records if "native-country" in r.getMessage()]
    assert "above the category limit 30" in message and "30 most frequent values" in message and "'other'" in message


def test_the_top_k_check_passes_the_reference_and_reports_a_batch_of_unseen_values() -> None:
    [in_set] = [e for e in column_expectations(reference(), 0.1, 30, None) if "value_set" in e["kwargs"]]
    suite = {"name": "t", "expectations": [in_set], "meta": {}}
    [ok] = evaluate_suite(suite, reference().to_frame())
    assert ok.success
    shifted = pd.Series(["a"] * 10 + ["new"] * 10, name="native-country", dtype=object).to_frame()
    [bad] = evaluate_suite(suite, shifted)
    assert not bad.success and bad.severity == "warning" and "new" in bad.result["partial_unexpected_list"]


def test_a_column_within_the_limit_keeps_its_full_value_set() -> None:
    small = pd.Series(["x", "y", "x"], name="colour", dtype=object)
    [in_set] = [e for e in column_expectations(small, 0.1, 30, None) if "value_set" in e["kwargs"]]
    assert in_set["kwargs"] == {"column": "colour", "value_set": ["x", "y"]} and in_set["severity"] == "critical"

"""The streaming suite evaluator and the extra checks: agreement with GX, chunking, severities, leakage, freshness."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import load_problem
from tasks.checks.data_checks import CheckSettings, DataChecks
from tasks.checks.expectations import SuiteRun, evaluate_suite
from tasks.core.errors import PipelineError
from tasks.kinds.table_checks import ValidateSettings, load_suite_json, validate
from tasks.kinds.table_source import select_before

PROBLEM = load_problem("bike_demand")
RAW_SUITE = load_suite_json(PROBLEM.suite_path("raw"))


@pytest.fixture(scope="module")
def collected(bike_frame: pd.DataFrame) -> pd.DataFrame:
    return select_before(bike_frame, PROBLEM, pd.Timestamp("2011-05-01"))


@pytest.fixture(scope="module")
def damaged(collected: pd.DataFrame) -> pd.DataFrame:
    """Collected rows with a few of every kind of problem the raw suite looks for."""
    frame = collected.copy()
    frame.loc[[1, 2], "temp"] = [1.5, np.nan]
    frame.loc[3, "weathersit"] = "fog"
    frame.loc[[4, 5], "hum"] = [-0.2, 7.0]
    frame.loc[6, "timestamp"] = frame.loc[7, "timestamp"]
    frame.loc[8, "season"] = 9
    frame.loc[9:400, "windspeed"] = 0.9  # shifts the distribution (warning-level checks)
    return frame


def gx_results(suite: dict, frame: pd.DataFrame) -> list:
    """The same suite run by GX's own pandas engine (Batch.validate: ValidationDefinition.run cannot store
    quantile results in GX 1.24, it fails serialising a numpy bool)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    gx_suite = gx.ExpectationSuite(name="s", expectations=suite["expectations"])
    result = batch.get_batch(batch_parameters={"dataframe": frame}).validate(
        gx_suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5}
    )
    return result.results


def test_streaming_evaluator_agrees_with_great_expectations(damaged: pd.DataFrame) -> None:
    ours = evaluate_suite(RAW_SUITE, [damaged.iloc[i : i + 500] for i in range(0, len(damaged), 500)])
    theirs = gx_results(RAW_SUITE, damaged)

    assert len(ours) == len(theirs) == len(RAW_SUITE["expectations"])
    for mine, gx_result in zip(ours, theirs, strict=True):
        config = gx_result.expectation_config
        assert (mine.type, mine.kwargs.get("column")) == (config.type, config.kwargs.get("column"))
        label = f"{mine.type} {mine.column}"
        assert mine.success == gx_result.success, label
        if "unexpected_count" in gx_result.result:
            assert mine.result.get("unexpected_count", "missing") == gx_result.result["unexpected_count"], label
        observed = gx_result.result.get("observed_value")
        if isinstance(observed, int | float) and not isinstance(observed, bool):
            assert mine.result["observed_value"] == pytest.approx(observed), label
    failed = {(r.type, r.column) for r in ours if not r.success}
    assert ("expect_column_values_to_be_between", "temp") in failed
    assert ("expect_column_values_to_be_unique", "timestamp") in failed
    assert ("expect_column_quantile_values_to_be_between", "windspeed") in failed


def test_results_do_not_depend_on_chunk_size(damaged: pd.DataFrame) -> None:
    whole = evaluate_suite(RAW_SUITE, damaged)
    chunked = evaluate_suite(RAW_SUITE, [damaged.iloc[i : i + 97] for i in range(0, len(damaged), 97)])

    for one, many in zip(whole, chunked, strict=True):
        assert one.success == many.success
        assert one.result.get("unexpected_count") == many.result.get("unexpected_count")
        if isinstance(one.result.get("observed_value"), float):
            assert one.result["observed_value"] == pytest.approx(many.result["observed_value"])
        else:
            assert one.result.get("observed_value") == many.result.get("observed_value")


def test_unknown_expectation_type_is_named() -> None:
    suite = {"name": "s", "expectations": [{"type": "expect_column_to_be_pretty", "kwargs": {"column": "a"}}]}
    with pytest.raises(
        PipelineError, match=r"suite 's': expectation type 'expect_column_to_be_pretty' is not supported"
    ):
        SuiteRun(suite)


def checks(frame: pd.DataFrame, **overrides: object) -> dict[str, list]:
    settings = CheckSettings(
        timestamp="timestamp",
        target="bikers",
        declared_leakage=("casual", "registered"),
        now=pd.Timestamp("2030-01-01"),
        max_gap=pd.Timedelta("1d"),
    )
    run = DataChecks(CheckSettings(**{**settings.__dict__, **overrides}))
    for start in range(0, len(frame), 1000):
        run.update(frame.iloc[start : start + 1000])
    found: dict[str, list] = {}
    for result in run.finish():
        found.setdefault(result.type, []).append(result)
    return found


def test_declared_leakage_is_reported_and_passes(collected: pd.DataFrame) -> None:
    leakage = checks(collected)["no_target_leakage"]

    assert [(r.column, r.success) for r in leakage] == [("casual, registered", True)]
    assert leakage[0].result["observed_value"].startswith("casual + registered == bikers (declared leakage")


@pytest.mark.parametrize(
    ("column", "values", "relation"),
    [
        ("bikers_copy", lambda f: f["bikers"], "bikers_copy == bikers"),
        ("members", lambda f: f["registered"], "casual + members == bikers"),
        ("total", lambda f: f["bikers"] + f["hr"], "total - hr == bikers"),
    ],
)
def test_undeclared_exact_function_of_the_target_fails(
    collected: pd.DataFrame, column: str, values: object, relation: str
) -> None:
    frame = collected.assign(**{column: values(collected)})  # type: ignore[operator]
    failing = [r for r in checks(frame)["no_target_leakage"] if not r.success]

    assert any(r.result["observed_value"].startswith(relation) for r in failing), [
        r.result["observed_value"] for r in failing
    ]
    assert all(column in r.column for r in failing)


def test_gaps_longer_than_max_gap_are_reported_as_warnings(collected: pd.DataFrame) -> None:
    frame = collected[(collected["timestamp"] < "2011-02-01") | (collected["timestamp"] >= "2011-02-04")]
    gap = checks(frame)["no_gaps_longer_than"][0]

    assert (gap.success, gap.severity) == (False, "warning")
    assert "2011-01-31T23:00:00 -> 2011-02-04T00:00:00" in gap.result["partial_unexpected_list"]
    assert gap.result["observed_value"] == "longest gap 3 days 01:00:00"
    assert checks(collected)["no_gaps_longer_than"][0].success


def test_future_timestamps_and_duplicate_rows_fail(collected: pd.DataFrame) -> None:
    frame = pd.concat([collected, collected.iloc[:3]], ignore_index=True)
    found = checks(frame, now=pd.Timestamp("2011-04-30T21:00"))

    future = found["no_future_timestamps"][0]
    assert (future.success, future.result["unexpected_count"]) == (False, 2)
    assert future.result["partial_unexpected_list"] == ["2011-04-30T22:00:00", "2011-04-30T23:00:00"]
    assert (found["no_duplicate_rows"][0].success, found["no_duplicate_rows"][0].result["unexpected_count"]) == (
        False,
        3,
    )


def test_warning_severity_reports_and_continues(collected: pd.DataFrame, tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "data.parquet"
    raw.parent.mkdir()
    collected.to_parquet(raw, index=False)
    suites = tmp_path / "suites"
    suites.mkdir()
    strict_mean = {
        "type": "expect_column_mean_to_be_between",
        "kwargs": {"column": "temp", "min_value": 0.9, "max_value": 1.0},
        "severity": "warning",
    }
    (suites / "raw.json").write_text(json.dumps({**RAW_SUITE, "expectations": [strict_mean]}))
    (suites / "features.json").write_text(PROBLEM.suite_path("features").read_text())
    problem = PROBLEM.__class__(**{**PROBLEM.__dict__, "expectations_dir": suites})

    result = validate(problem, ValidateSettings(data_docs=False), raw, tmp_path / "validated", tmp_path / "report")

    assert result.outcome.success
    assert [w.expectation for w in result.outcome.warnings] == ["expect_column_mean_to_be_between"]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert (summary["failed"], summary["warned"]) == (0, 1)
    assert "## Warnings" in (tmp_path / "report" / "summary.md").read_text()
    validated = pd.read_parquet(tmp_path / "validated" / "data.parquet")
    assert list(validated.columns) == [c for c in collected.columns if c in PROBLEM.model_columns]
    assert len(validated) == len(collected)
    assert not (tmp_path / "quarantine").exists()

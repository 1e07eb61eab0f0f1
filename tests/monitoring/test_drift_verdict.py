"""The monitor's verdict (tasks/monitoring/data_drift.py, drift_input.py, prediction_signals.py): calibrated on the
reference, explained, deterministic, strict about its input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tasks.monitoring.data_drift import assess
from tasks.monitoring.drift_input import DriftInputError, DriftSettings
from tasks.monitoring.prediction_signals import performance, prediction_drift

pytestmark = pytest.mark.timeout(120)
NUMERIC, CATEGORICAL = ["a", "b"], ["c"]
QUICK = DriftSettings(adversarial_rows=0)  # the per-column tests need no classifier


def table(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1.0, size=rows),
            "b": rng.uniform(0, 10, size=rows),
            "c": rng.choice(["x", "y", "z"], size=rows, p=[0.5, 0.3, 0.2]),
        }
    )


def judge(reference: pd.DataFrame, current: pd.DataFrame, settings: DriftSettings = QUICK, **kw) -> dict:
    return assess(reference, current, numeric=NUMERIC, categorical=CATEGORICAL, settings=settings, **kw)


def test_windows_cut_from_the_reference_show_no_drift() -> None:
    reference = table(6000, seed=0)
    for start in (0, 2500, 5000):
        found = judge(reference, reference.iloc[start : start + 1000], DriftSettings(adversarial_rows=1000))
        assert found["verdict"] == "no_drift", found
        assert found["fired"] == [] and found["drifted_columns"] == []


def test_windows_of_clustered_seasonal_data_show_no_drift(bike_source: pd.DataFrame) -> None:
    """A month never looks like the whole of January-April; the calibration knows it, a fixed rule does not."""
    from pipelines.bike_demand import PROBLEM

    bike = bike_source.assign(timestamp=PROBLEM.derive_timestamp(bike_source))
    reference = bike[bike.timestamp < "2011-05-01"]
    numeric, categorical = ["temp", "atemp", "hum", "windspeed", "bikers"], ["hr", "weekday", "weathersit", "season"]
    settings = DriftSettings(expected_to_change=("season",), adversarial_rows=0)
    books_alone = []
    for start in ("2011-01-01", "2011-02-10", "2011-03-25"):
        window = reference[
            (reference.timestamp >= start) & (reference.timestamp < pd.Timestamp(start) + pd.Timedelta("30D"))
        ]
        found = assess(
            reference, window, numeric=numeric, categorical=categorical, settings=settings, time_column="timestamp"
        )
        assert found["verdict"] == "no_drift", found["drifted_columns"]
        books_alone += [c for c, v in found["columns"].items() if v["books_rule"] and not v["expected_to_change"]]
    # the books' rule alone would have flagged temperature: a month is colder or warmer than January-April
    assert "temp" in books_alone
    may = bike[(bike.timestamp >= "2011-05-01") & (bike.timestamp < "2011-05-31")]
    found = assess(reference, may, numeric=numeric, categorical=categorical, settings=settings, time_column="timestamp")
    assert found["verdict"] == "drift" and "temp" in found["drifted_columns"]


def test_shifted_column_is_flagged_with_the_reason() -> None:
    found = judge(table(5000, seed=0), table(1000, seed=1, shift=1.0))
    assert found["verdict"] == "drift" and found["fired"] == ["data_drift"]
    assert found["drifted_columns"] == ["a"]
    column = found["columns"]["a"]
    assert column["kind"] == "numeric" and column["ks_statistic"] > 0.3 and column["ks_p"] < 1e-10
    assert column["score"] > column["threshold"] >= column["reference_scores"]["max"]
    assert column["why"].startswith("drifted: PSI") and "KS statistic" in column["why"]
    assert found["columns"]["b"]["why"].startswith("no drift")
    assert found["weighted_drift"] == pytest.approx(1 / 3, abs=1e-6)


def test_new_category_share_is_flagged() -> None:
    current = table(1000, seed=1).assign(c=lambda f: np.where(np.arange(len(f)) % 2 == 0, "z", f.c))
    found = judge(table(5000, seed=0), current)
    assert found["drifted_columns"] == ["c"]
    assert found["columns"]["c"]["kind"] == "categorical" and "total variation" in found["columns"]["c"]["why"]


def test_expected_to_change_column_never_flips_the_verdict() -> None:
    current = table(1000, seed=1).assign(c="w")  # every row a category the reference never had
    found = judge(table(5000, seed=0), current, DriftSettings(adversarial_rows=1000, expected_to_change=("c",)))
    assert found["verdict"] == "no_drift", found
    column = found["columns"]["c"]
    assert column["expected_to_change"] is True and column["drifted"] is False
    assert column["outside_reference"] is True and column["why"].startswith("expected to change")
    assert found["adversarial"]["drifted"] is False  # the classifier does not learn from it either


def test_weights_decide_what_a_drifted_column_counts_for() -> None:
    reference, current = table(5000, seed=0), table(1000, seed=1, shift=1.0)
    unimportant = judge(reference, current, DriftSettings(adversarial_rows=0, weights={"a": 0.0, "b": 1, "c": 1}))
    assert unimportant["verdict"] == "no_drift" and unimportant["columns"]["a"]["why"].startswith("weight 0")
    light = {"a": 0.1, "b": 0.6, "c": 0.3}
    below = judge(reference, current, DriftSettings(adversarial_rows=0, weights=light, min_weighted_drift=0.2))
    assert below["drifted_columns"] == ["a"] and below["weighted_drift"] == pytest.approx(0.1)
    assert below["verdict"] == "no_drift"
    heavy = {"a": 0.7, "b": 0.2, "c": 0.1}
    above = judge(reference, current, DriftSettings(adversarial_rows=0, weights=heavy, min_weighted_drift=0.2))
    assert above["verdict"] == "drift" and above["weighted_drift"] == pytest.approx(0.7)


def test_adversarial_validation_flags_a_swapped_pair_the_columns_cannot_see() -> None:
    """y follows x in the reference; in the current window y and an independent z of the same distribution are
    swapped: every column's distribution is unchanged, only the classifier can tell."""
    rng = np.random.default_rng(0)

    def pair(rows: int) -> pd.DataFrame:
        x = rng.normal(size=rows)
        return pd.DataFrame({"x": x, "y": x + rng.normal(0, 0.1, rows), "z": rng.normal(0, np.sqrt(1.01), rows)})

    reference, current = pair(4000), pair(2000)
    current = current.rename(columns={"y": "z", "z": "y"})
    settings = DriftSettings(adversarial_rows=2000)
    found = assess(reference, current, numeric=["x", "y", "z"], categorical=[], settings=settings)
    assert found["drifted_columns"] == []
    assert found["fired"] == ["adversarial"] and found["verdict"] == "drift"
    assert found["adversarial"]["roc_auc"] > 0.75
    named = [c["column"] for c in found["adversarial"]["top_columns"]]
    assert {"x", "y"} <= set(named[:3]) or {"x", "z"} <= set(named[:3]), named
    assert "told apart" in found["adversarial"]["why"]


def test_same_inputs_give_the_same_json() -> None:
    reference, current = table(3000, seed=0), table(800, seed=1, shift=0.3)
    settings = DriftSettings(adversarial_rows=800, seed=7)
    first, second = judge(reference, current, settings), judge(reference, current, settings)
    assert json.dumps(first, sort_keys=True, allow_nan=False) == json.dumps(second, sort_keys=True, allow_nan=False)


def test_same_season_of_earlier_years_joins_the_reference_windows() -> None:
    days = pd.date_range("2019-01-01", "2021-12-31", freq="D")
    rng = np.random.default_rng(0)
    seasonal = np.sin(2 * np.pi * days.dayofyear / 365.25) * 10 + rng.normal(0, 1, len(days))
    reference = pd.DataFrame({"when": days, "a": seasonal, "b": rng.uniform(0, 10, len(days)), "c": "x"})
    july = pd.date_range("2022-07-01", "2022-07-30", freq="D")
    current = pd.DataFrame({"when": july, "a": np.sin(2 * np.pi * july.dayofyear / 365.25) * 10, "b": 5.0, "c": "x"})
    found = judge(reference.sample(frac=1, random_state=0), current, time_column="when")  # any row order
    assert found["same_season_windows"] == 3  # July 2019, 2020, 2021
    assert "a" not in found["drifted_columns"]


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="column 'b' is missing from the current data"):
        judge(table(100, seed=0), table(50, seed=1).drop(columns="b"))


def test_non_numeric_value_in_a_numeric_column_is_named() -> None:
    current = table(50, seed=1).astype({"a": object})
    current.loc[7, "a"] = "12,5"
    with pytest.raises(DriftInputError, match=r"column 'a' of the current data should be numeric, but holds '12,5'"):
        judge(table(100, seed=0), current)


def test_bad_settings_and_weights_are_named() -> None:
    with pytest.raises(ValueError, match="ks_p"):
        judge(table(100, seed=0), table(50, seed=1), DriftSettings(ks_p=2.0))
    with pytest.raises(ValueError, match="weights has no entry for column 'c'"):
        judge(table(100, seed=0), table(50, seed=1), DriftSettings(weights={"a": 1.0, "b": 1.0}))


def test_prediction_drift_uses_the_same_calibrated_test() -> None:
    rng = np.random.default_rng(0)
    reference = rng.gamma(2.0, 50.0, size=5000)
    same = prediction_drift(reference, rng.gamma(2.0, 50.0, size=800), QUICK)
    assert same["drifted"] is False and same["verdict"] == "no_drift"
    moved = prediction_drift(pd.Series(reference), pd.Series(rng.gamma(2.0, 50.0, size=800) * 1.6), QUICK)
    assert moved["drifted"] is True and moved["drifted_columns"] == ["prediction"]
    assert moved["why"].startswith("prediction: drifted")


def test_performance_against_test_time_figures_and_a_floor() -> None:
    truth = np.array([10.0, 20.0, 30.0, 40.0])
    fine = performance(truth, truth + 5, "regression", {"rmse": 4.0, "mae": 4.0}, {"rmse": 10.0})
    assert fine["degraded"] is False and fine["metrics"] == {"rmse": 5.0, "mae": 5.0}
    assert fine["change_pct"]["rmse"] == pytest.approx(25.0)
    worse = performance(truth, truth + 20, "regression", {"rmse": 4.0}, {"rmse": 10.0, "mae": 15.0})
    assert worse["degraded"] is True and worse["breaches"] == [
        "rmse 20 above the maximum 10",
        "mae 20 above the maximum 15",
    ]
    labels = np.array([0, 0, 1, 1, 1, 0])
    probabilities = np.array([0.9, 0.2, 0.8, 0.3, 0.6, 0.4])
    scored = performance(labels, probabilities, "classification", {"roc_auc": 0.91}, {"roc_auc": 0.75})
    assert scored["metrics"]["accuracy"] == pytest.approx(4 / 6, abs=1e-5)
    assert scored["degraded"] is True and scored["breaches"][0].startswith(
        "roc_auc 0.5556 below the minimum 0.75"
    )  # 5 of 9 pairs
    with pytest.raises(ValueError, match="floor names metric 'r2'"):
        performance(truth, truth, "regression", {}, {"r2": 0.5})


def test_column_verdicts_match_scipy_on_the_whole_unsampled_data() -> None:
    """Large enough for the fast paths (KS in cells, shared window counts); every row counts, nothing sampled."""
    rng = np.random.default_rng(3)
    rows = 70_000
    reference = pd.DataFrame(
        {
            "smooth": rng.normal(size=rows),
            "tied": np.round(rng.gamma(2.0, 1.0, size=rows), 1),
            "slight": rng.uniform(0, 1, size=rows),
        }
    )
    current = pd.DataFrame(
        {
            "smooth": rng.normal(0.4, 1.0, size=rows // 2),
            "tied": np.round(rng.gamma(2.0, 1.0, size=rows // 2), 1),
            "slight": rng.uniform(0.004, 1.004, size=rows // 2),
        }
    )
    columns = list(reference.columns)
    found = assess(reference, current, numeric=columns, categorical=[], settings=QUICK)
    for column in columns:
        expected = stats.ks_2samp(reference[column], current[column], method="asymp")
        books = bool(expected.pvalue < QUICK.ks_p and expected.statistic > QUICK.ks_statistic)
        reported = found["columns"][column]
        assert reported["ks_statistic"] == pytest.approx(expected.statistic, rel=1e-5)
        assert reported["ks_p"] == pytest.approx(expected.pvalue, rel=0.03, abs=1e-300)
        assert reported["books_rule"] is books
        assert reported["drifted"] is (books and reported["score"] > reported["threshold"])
    assert found["drifted_columns"] == ["smooth"]


def test_reference_window_scores_equal_direct_computation() -> None:
    from tasks.monitoring import calibration, drift_stats

    rng = np.random.default_rng(5)
    values = np.r_[rng.normal(0, 1, 700), rng.normal(2, 3, 300)]
    values[::37] = np.nan
    windows = calibration.ReferenceWindows(calibration.evenly_spaced_starts(values.size, 120, 4), 120)
    assert len(windows.starts) == 60  # 1/8 of a window apart (880 / 15 rows), though 4 were asked for
    prepared = drift_stats.numeric_reference(values)
    codes = drift_stats.bin_codes(values, prepared.edges)
    bins = prepared.edges.size + 2
    center, scale = float(np.nanmean(values)), float(np.nanstd(values))
    psi = calibration.window_scores(codes, bins, windows)
    moments = calibration.moment_window_scores(values, windows, center, scale)
    for i, start in enumerate(windows.starts):
        inside = np.zeros(values.size, dtype=bool)
        inside[start : start + 120] = True
        counts_in = np.bincount(codes[inside], minlength=bins)
        counts_out = np.bincount(codes[~inside], minlength=bins)
        counts_all = np.bincount(codes, minlength=bins)
        expected_psi = max(drift_stats.psi(counts_out, counts_in), drift_stats.psi(counts_all, counts_in))
        assert psi[i] == pytest.approx(expected_psi)
        window = values[inside]
        shifts = [abs(np.nanmean(window) - np.nanmean(other)) / scale for other in (values[~inside], values)]
        assert moments["mean_shift"][i] == pytest.approx(max(shifts), rel=1e-9)
        ratios = [abs(np.log(np.nanstd(window) / np.nanstd(other))) for other in (values[~inside], values)]
        assert moments["std_ratio"][i] == pytest.approx(max(ratios), rel=1e-6)


def test_rescaled_column_in_a_short_window_is_flagged_by_its_spread() -> None:
    reference = table(5000, seed=0)
    current = reference.iloc[1000:1200].assign(a=lambda f: f.a * 2.0)
    found = judge(reference, current)
    assert found["drifted_columns"] == ["a"]
    assert "spread change" in found["columns"]["a"]["why"]

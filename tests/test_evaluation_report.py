"""The evaluation report read back: its numbers are metrics.json's, its verdict the blessing's, no network needed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tasks.evaluation.evaluate import metrics_file
from tasks.evaluation.gate import GatePolicy, decide_blessing
from tasks.evaluation.page import numbers_by_key, render_report
from tasks.evaluation.summary import headline_markdown

SCORES = {
    "model": {"rmse": 60.10853, "mae": 41.58395, "r2": 0.802577, "bias": -16.8778},
    "champion": {"rmse": 58.2, "mae": 40.9, "r2": 0.81, "bias": -3.0},
    "common_sense": {"rmse": 122.61, "mae": 88.0453, "r2": 0.17855, "bias": -81.2},
    "mean": {"rmse": 156.8826, "mae": 113.9299, "r2": -0.34485, "bias": -79.44},
    "linear": {"rmse": 99.76325, "mae": 70.5517, "r2": 0.456165, "bias": -30.195},
}


def record(override: bool = False) -> dict[str, Any]:
    policy = GatePolicy(
        primary_metric="rmse",
        floors={"rmse": {"max": 90.0}},
        max_worse_than_champion_pct={"rmse": 1.0},
        override=override,
        override_reason="accepted: the champion was trained on leaked data" if override else "",
    )
    champion = {"version": 7, "fingerprint": "0123456789abcdef", "path": "s/m/7", "metrics": SCORES["champion"]}
    baselines = {k: SCORES[k] for k in ("common_sense", "mean", "linear")}
    return {
        "problem": "bike_demand",
        "task": "regression",
        "unit": "bikers per hour",
        "created_at": "2026-01-01T00:00:00+00:00",
        "test_rows": 418,
        "primary_metric": "rmse",
        "scores": SCORES,
        "baselines": {"common_sense": "hour x working day mean", "mean": "training mean", "linear": "ridge"},
        "champion": {k: v for k, v in champion.items() if k != "metrics"},
        "blessing": decide_blessing(SCORES["model"], baselines, champion, policy),
        "slices": [
            {"slice": "hour_band", "value": "night", "rows": 100, "rmse": 15.1, "mae": 11.0, "bias": -0.3, "r2": 0.5},
            {
                "slice": "hour_band",
                "value": "evening",
                "rows": 72,
                "rmse": 103.4,
                "mae": 83.8,
                "bias": -67.5,
                "r2": 0.1,
            },
        ],
        "importance": [{"feature": "hr", "score_loss_mean": 87.2, "score_loss_std": 0.9, "reference_score": 60.1}],
        "importance_repeats": 5,
        "classification": None,
        "splits": {"test": {"rows": 418, "from": "2011-04-13", "to": "2011-04-30"}},
        "training": {"epochs_run": 78, "best_epoch": 63},
    }


def test_every_number_in_the_headline_equals_metrics_json() -> None:
    rec = record()
    metrics = metrics_file(rec)
    shown = numbers_by_key(render_report(rec, {}))

    expected = {
        f"{name}.{m}": v for name, scores in metrics.items() if isinstance(scores, dict) for m, v in scores.items()
    }
    assert set(shown) == set(expected)  # every model, every headline metric, nothing else
    for key, value in expected.items():
        assert float(shown[key]) == pytest.approx(value, abs=0.00055), key  # 3 decimals vs 4


def test_the_headline_table_comes_first_and_the_verdict_matches_the_blessing() -> None:
    rec = record()
    page = render_report(rec, {})
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings[:2] == ["Headline (test split)", "Gate"]
    assert not rec["blessing"]["blessed"]  # 60.1 is 3.3% worse than the champion's 58.2
    assert "NOT BLESSED" in page
    assert "exceeds the 1% allowed" in page
    assert "hour_band = evening (72 rows): RMSE 103.4, under-predicts by 67.5 bikers per hour" in page


def test_an_override_is_stated_in_the_report_with_its_reason() -> None:
    rec = record(override=True)
    page = render_report(rec, {})
    assert rec["blessing"]["blessed"] and rec["blessing"]["overridden"]
    assert "BLESSED BY OVERRIDE" in page
    assert "accepted: the champion was trained on leaked data" in page
    assert "✗ FAIL" in page  # the failed check is still shown


def test_report_loads_nothing_from_the_network() -> None:
    page = render_report(record(), {"predictions": "data:image/png;base64,AAAA"})
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert '<img alt="predicted vs actual over time" src="data:image/png;base64,AAAA">' in page


def test_headline_markdown_carries_the_same_numbers_the_verdict_and_the_links() -> None:
    rec = record()
    text = headline_markdown(metrics_file(rec), rec["blessing"], {"evaluation report": "reports/evaluation/index.html"})
    assert text.splitlines()[0].startswith("## ")
    assert "| candidate (model) | 60.109 | 41.584 | 0.803 |" in text
    assert "| champion | 58.200 | 40.900 | 0.810 |" in text
    assert "**NOT BLESSED**" in text
    assert "exceeds the 1% allowed" in text
    assert "[evaluation report](reports/evaluation/index.html)" in text


def test_report_links_back_to_the_index_of_all_reports() -> None:
    page = render_report(record(), {})
    assert '<a href="../index.html">&larr; All reports</a>' in page


def test_a_test_score_far_worse_than_validation_is_remarked_with_what_to_check() -> None:
    evaluation = record()
    evaluation["training"] = {"epochs_run": 78, "best_epoch": 63, "best_val_rmse": 30.0}  # test rmse: 60.1
    page = render_report(evaluation, {})
    assert "Validation rmse of the restored epoch: <b>30</b>; test: <b>60.11</b> (100% worse on test)" in page
    assert "The validation score is optimistic" in page
    evaluation["training"]["best_val_rmse"] = 55.0
    page = render_report(evaluation, {})
    assert "(9% worse on test). Test and validation agree within 25%" in page
    del evaluation["training"]["best_val_rmse"]
    assert "Validation rmse" not in render_report(evaluation, {})  # no validation figure, no remark


@pytest.mark.timeout(30)
def test_weakest_slices_print_a_classifier_metric_with_enough_digits_to_tell_slices_apart() -> None:
    from tasks.evaluation.page import weak_spots

    evaluation = {
        "primary_metric": "accuracy",
        "slices": [
            {"slice": "sex", "value": "female", "rows": 40, "accuracy": 0.9375},
            {"slice": "sex", "value": "male", "rows": 41, "accuracy": 0.9024},
        ],
    }
    text = weak_spots(evaluation)
    assert "sex = male (41 rows): accuracy 0.902" in text
    assert "accuracy 0.9<" not in text and "accuracy 0.9 " not in text

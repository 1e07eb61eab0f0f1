"""Classification scores against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tasks.objectives.metrics import calibration_curve, classification_metrics, threshold_report

# Six rows, classes no/yes; at threshold 0.5 the predictions are no, yes, yes, no, yes, no.
ACTUAL = ["no", "no", "yes", "yes", "yes", "no"]
P_YES = [0.1, 0.6, 0.8, 0.4, 0.9, 0.3]


def test_binary_scores_match_hand_computed_values() -> None:
    scores = classification_metrics(ACTUAL, P_YES, ["no", "yes"], threshold=0.5)

    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["per_class"]["yes"]["precision"] == pytest.approx(2 / 3)
    assert scores["per_class"]["yes"]["recall"] == pytest.approx(2 / 3)
    assert scores["per_class"]["no"]["support"] == 3
    # 8 of the 9 (positive, negative) pairs are ranked the right way round
    assert scores["roc_auc"] == pytest.approx(8 / 9)
    # ranked: yes, yes, no, yes, no, no -> precision at each positive 1, 1, 3/4
    assert scores["pr_auc"] == pytest.approx((1 + 1 + 0.75) / 3)
    expected_log_loss = -np.mean(np.log([0.9, 0.4, 0.8, 0.4, 0.9, 0.7]))
    assert scores["log_loss"] == pytest.approx(expected_log_loss)
    assert scores["confusion_matrix"] == {"classes": ["no", "yes"], "counts": [[2, 1], [1, 2]]}


def test_binary_threshold_reports_counts_and_rates_as_a_stakeholder_reads_them() -> None:
    at_half = classification_metrics(ACTUAL, P_YES, ["no", "yes"], threshold=0.5)["threshold"]
    assert (at_half["true_positives"], at_half["false_positives"]) == (2, 1)
    assert (at_half["false_negatives"], at_half["true_negatives"]) == (1, 2)
    assert at_half["false_positive_rate"] == pytest.approx(1 / 3)
    assert at_half["false_negative_rate"] == pytest.approx(1 / 3)

    lower = threshold_report(np.array(ACTUAL) == "yes", np.array(P_YES), 0.35)
    assert lower["false_negatives"] == 0  # a lower threshold misses no positive...
    assert lower["false_positives"] == 1  # ...and here costs no extra false alarm
    assert lower["recall"] == 1.0


def test_binary_accepts_two_column_probabilities_the_same_as_one() -> None:
    two_columns = np.column_stack([1 - np.array(P_YES), P_YES])
    assert classification_metrics(ACTUAL, two_columns, ["no", "yes"]) == classification_metrics(
        ACTUAL, P_YES, ["no", "yes"]
    )


def test_multiclass_one_vs_rest_and_confusion_matrix() -> None:
    classes = ["a", "b", "c"]
    actual = ["a", "a", "b", "b", "c", "c"]
    proba = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.4, 0.5, 0.1],  # a predicted as b
            [0.1, 0.8, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.2, 0.7],
            [0.3, 0.1, 0.6],
        ]
    )
    scores = classification_metrics(actual, proba, classes)

    assert scores["accuracy"] == pytest.approx(5 / 6)
    assert scores["confusion_matrix"]["counts"] == [[1, 1, 0], [0, 2, 0], [0, 0, 2]]
    assert scores["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert scores["per_class"]["a"]["recall"] == pytest.approx(1 / 2)
    # c's own probability ranks both c rows above every other row
    assert scores["per_class"]["c"]["roc_auc"] == pytest.approx(1.0)
    assert scores["roc_auc"] == pytest.approx(np.mean([s["roc_auc"] for s in scores["per_class"].values()]))
    assert "threshold" not in scores  # thresholds are a binary notion


def test_class_absent_from_the_test_data_has_no_auc_and_is_left_out_of_the_mean() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    scores = classification_metrics(["a", "b", "a"], proba, ["a", "b", "c"])
    assert math.isnan(scores["per_class"]["c"]["roc_auc"])
    assert scores["roc_auc"] == pytest.approx(1.0)


def test_calibration_curve_bins_mean_prediction_against_observed_fraction() -> None:
    points = calibration_curve(np.array([0, 0, 1, 1]), np.array([0.05, 0.15, 0.12, 0.95]), bins=10)
    assert [p["rows"] for p in points] == [1, 2, 1]
    assert points[1]["mean_predicted"] == pytest.approx(0.135)
    assert points[1]["fraction_positive"] == pytest.approx(0.5)
    assert points[2]["fraction_positive"] == 1.0


def test_rejects_labels_outside_the_classes_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="not among the classes"):
        classification_metrics(["no", "maybe"], [0.2, 0.7], ["no", "yes"])
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(["a", "b"], np.ones((2, 2)) / 2, ["a", "b", "c"])


def test_roc_and_pr_curves_end_where_they_must() -> None:
    curves = classification_metrics(ACTUAL, P_YES, ["no", "yes"])["curves"]
    assert list(curves) == ["yes"]  # binary: the positive class only
    roc = curves["yes"]
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(8 / 9)  # area = the ROC AUC
    assert roc["recall"][0] == 1.0 and roc["recall"][-1] == 0.0

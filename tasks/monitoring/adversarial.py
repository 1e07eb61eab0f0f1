"""Adversarial validation: can a classifier tell the current window's rows from the reference's?

A gradient-boosted tree classifier (scikit-learn's HistGradientBoosting, one thread, seeded) is cross-validated on a
bounded, balanced sample of both sides (the caller draws it); its out-of-fold ROC AUC is 0.5 when the two are
alike and near 1 when they differ, in any column or in how columns go together (a swapped pair of columns with
equal marginals is invisible to per-column tests, not to this). The columns driving it are measured by permutation
on a held-out fold (the AUC lost when a column is shuffled) when the AUC is above 0.6. Pure functions, seeded,
no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

FOLDS = 3
TREE_SETTINGS: dict[str, Any] = {"max_iter": 20, "learning_rate": 0.3, "max_depth": 4, "early_stopping": False}
MIN_IMPORTANCE = 0.005  # AUC points a column must carry to be named as driving the separation
TOP_COLUMNS = 5
EXPLAIN_FROM_AUC = 0.6  # below this nothing separates the two sides: no column to name


def separability(
    reference: np.ndarray,
    current: np.ndarray,
    columns: Sequence[str],
    *,
    seed: int,
    explain: bool = True,
) -> dict[str, Any]:
    """Cross-validated ROC AUC of a classifier telling `current` rows (label 1) from `reference` rows (label 0).

    Inputs: the sampled rows of each side, float matrices with the same columns (NaN allowed; categorical columns
    as codes). Returns
    {"roc_auc", "rows_each", "top_columns": [{"column", "importance"}]} (top_columns empty when `explain` is false).
    Raises ValueError when either side has fewer than FOLDS rows.
    """
    if min(len(reference), len(current)) < FOLDS:
        raise ValueError(f"adversarial validation needs at least {FOLDS} rows on each side")
    rng = np.random.default_rng(seed)
    features = np.vstack([reference, current])
    labels = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    scores = np.empty(len(labels))
    lost = np.zeros(len(columns))
    with threadpool_limits(1):  # predictable on a shared machine; the column statistics use the other core
        for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(features, labels):
            model = HistGradientBoostingClassifier(random_state=seed, **TREE_SETTINGS).fit(
                features[train], labels[train]
            )
            scores[test] = model.predict_proba(features[test])[:, 1]
        auc = float(roc_auc_score(labels, scores))
        if explain and auc > EXPLAIN_FROM_AUC:
            # Permutation importance on the last fold's held-out rows (one fold: the ranking, not the decimals).
            held_out, truth = features[test], labels[test]
            base = roc_auc_score(truth, scores[test])
            for j in range(len(columns)):
                shuffled = held_out.copy()
                shuffled[:, j] = rng.permutation(shuffled[:, j])
                lost[j] = base - roc_auc_score(truth, model.predict_proba(shuffled)[:, 1])
    order = np.argsort(-lost, kind="stable")
    top = [
        {"column": columns[j], "importance": float(lost[j])} for j in order[:TOP_COLUMNS] if lost[j] > MIN_IMPORTANCE
    ]
    return {"roc_auc": auc, "rows_each": int(len(labels) // 2), "top_columns": top}

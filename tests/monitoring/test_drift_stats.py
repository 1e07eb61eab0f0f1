"""The statistics in tasks/monitoring/drift_stats.py equal scipy's full, point-by-point computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from tasks.monitoring import drift_stats

pytestmark = pytest.mark.timeout(60)


def samples(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Continuous, tied, shifted and unequal-size pairs; the large ones take the cell path of ks_sorted."""
    big = 4 * drift_stats.KS_GRID + 1
    return [
        (rng.normal(size=500), rng.normal(size=300)),
        (rng.normal(size=big), rng.normal(size=big)),
        (rng.normal(size=big), rng.normal(0.05, 1.0, size=big // 2)),
        (rng.integers(0, 40, size=big).astype(float), rng.integers(0, 41, size=big // 3).astype(float)),
        (np.round(rng.normal(size=big), 2), np.round(rng.normal(size=big), 2)),
        (rng.exponential(size=big), rng.exponential(size=big) * 1.02),
        (np.zeros(big), np.r_[np.zeros(big - 10), np.ones(10)]),
    ]


def test_ks_statistic_and_p_value_equal_scipy_on_the_whole_samples() -> None:
    for a, b in samples(np.random.default_rng(0)):
        expected = stats.ks_2samp(a, b, method="asymp")
        statistic = drift_stats.ks_sorted(np.sort(a), np.sort(b))
        assert statistic == pytest.approx(expected.statistic, abs=1e-12)
        assert drift_stats.ks_p_value(statistic, a.size, b.size) == pytest.approx(expected.pvalue, rel=0.03, abs=1e-12)


def test_ks_in_cells_equals_the_point_by_point_evaluation_bit_for_bit() -> None:
    for a, b in samples(np.random.default_rng(1)):
        a, b = np.sort(a), np.sort(b)
        assert drift_stats.ks_sorted(a, b) == drift_stats.ks_in_cell(a, b, 0, 0, a.size, b.size)


def test_wasserstein_equals_scipy() -> None:
    rng = np.random.default_rng(2)
    for a, b in [*samples(rng)[:4], (rng.normal(size=1000), rng.normal(size=1000))]:
        expected = stats.wasserstein_distance(a, b)
        assert drift_stats.wasserstein_sorted(np.sort(a), np.sort(b)) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_psi_counts_deciles_and_missing_values() -> None:
    reference = np.r_[np.arange(100, dtype=float), [np.nan] * 10]
    prepared = drift_stats.numeric_reference(reference)
    assert prepared.counts.sum() == 110 and prepared.counts[-1] == 10  # the last bin holds the missing values
    same = drift_stats.numeric_statistics(prepared, reference)
    assert same["psi"] == 0.0 and same["ks_statistic"] == 0.0
    shifted = drift_stats.numeric_statistics(prepared, reference + 50)
    assert shifted["psi"] > 1.0
    assert shifted["ks_statistic"] == pytest.approx(0.5)
    codes = drift_stats.bin_codes(reference, prepared.edges)
    assert np.array_equal(np.bincount(codes, minlength=prepared.counts.size), prepared.counts)


def test_categorical_statistics_equal_scipy() -> None:
    reference, current = np.array([50, 30, 20, 0]), np.array([10, 30, 50, 10])
    found = drift_stats.categorical_statistics(reference, current)
    p, q = reference / reference.sum(), current / current.sum()
    table = np.vstack([reference, current])
    assert found["chi2_p"] == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)
    assert found["jensen_shannon"] == pytest.approx(jensenshannon(p, q, base=2))
    assert found["total_variation"] == pytest.approx(0.4)  # (0.4 + 0 + 0.3 + 0.1) / 2
    floor = drift_stats.PSI_FLOOR
    expected = sum(
        (max(b, floor) - max(a, floor)) * np.log(max(b, floor) / max(a, floor)) for a, b in zip(p, q, strict=True)
    )
    assert found["psi"] == pytest.approx(expected)

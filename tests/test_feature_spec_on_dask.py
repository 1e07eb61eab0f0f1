"""featurize with `compute.scheduler` set fits the feature spec on Dask workers and writes the same bytes: the means
and variances are the floats pandas gives in one process (==, not approximately), vocabularies and missing shares
exact. Fast: the bundled year and generated gappy tables on a LocalCluster of 2 processes. Slow (make test-all):
1M generated rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.params import Params
from tasks.kinds.table import TableKind
from tasks.kinds.table_checks import feature_view
from tasks.kinds.table_spec_on_dask import fit_feature_spec_with
from tasks.kinds.table_split import fit_feature_spec, split_by_time
from tasks.scale.exact_moments import buffer_bounds, combine, leaves_of, pairwise_leaves
from tests.scale_data import bike_like, bike_rows

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def cluster(dask_cluster: object) -> object:
    return dask_cluster  # one LocalCluster per test process (tests/conftest.py)


@pytest.mark.parametrize("n", [7, 129, 1_000, 65_537, 300_001])
def test_partial_sums_added_in_numpys_tree_order_are_numpys_sum(n: int) -> None:
    values = np.random.default_rng(n).normal(size=n) * 1e6 + 1 / 3
    for depth in (1, 3, 5):
        tree = pairwise_leaves(0, n, depth)
        sums = {leaf: values[leaf[0] : leaf[1]].sum() for leaf in leaves_of(tree)}
        assert combine(tree, sums) == values.sum()
    naive = sum(values[a:b].sum() for a, b in buffer_bounds(n, 3, 100))  # any other cut: not the same float
    assert n < 1_000 or naive != values.sum()


def _train() -> pd.DataFrame:
    view = feature_view(bike_rows(), PROBLEM)
    return split_by_time(view, "timestamp", 0.15, 0.15)["train"]


def _same_spec(client: object, train: pd.DataFrame) -> None:
    local = json.dumps(fit_feature_spec(train, PROBLEM), indent=2)
    assert json.dumps(fit_feature_spec_with(client, train, PROBLEM), indent=2) == local


def test_the_spec_fitted_on_dask_is_byte_identical_on_the_bundled_year(cluster: object) -> None:
    _same_spec(cluster, _train())


def test_the_spec_fitted_on_dask_is_byte_identical_with_gaps_and_integer_columns(cluster: object) -> None:
    rng = np.random.default_rng(7)
    train = bike_like(40_000)
    train["temp"] = rng.normal(size=len(train)) * 1e4 + 0.1  # no short sum is exact: the order of additions shows
    train.loc[rng.random(len(train)) < 0.03, "temp"] = np.nan  # missing: impute policy, share, mean of the rest
    train["hum"] = rng.integers(0, 10**12, size=len(train))  # int64: pandas' mean goes through numpy's cast buffer
    train.loc[::97, "weathersit"] = None  # a string category with a missing category
    train["hr"] = train["hr"].astype("float64")
    train.loc[::101, "hr"] = np.nan  # an integer category read as float with gaps: the -1 marker
    spec = fit_feature_spec(train, PROBLEM)
    assert "missing" in spec["numeric"]["temp"] and "missing" in spec["categorical"]["weathersit"]
    _same_spec(cluster, train)


def test_featurize_with_a_scheduler_writes_the_same_files(tmp_path: Path, cluster: object, monkeypatch) -> None:
    validated = tmp_path / "data" / "validated" / "data.parquet"
    validated.parent.mkdir(parents=True)
    feature_view(bike_rows(), PROBLEM).to_parquet(validated, index=False)
    monkeypatch.chdir(tmp_path)
    address = cluster.scheduler.address  # type: ignore[attr-defined]
    written = {}
    for setting in ("local", address):
        params = Params({"featurize": {"val_fraction": 0.15, "test_fraction": 0.15}, "compute": {"scheduler": setting}})
        TableKind().featurize(PROBLEM, params)
        written[setting] = {p.name: p.read_bytes() for p in sorted((tmp_path / "data" / "features").iterdir())}
    assert written["local"].keys() >= {"spec.json", "train.parquet"}
    assert written[address] == written["local"]


@pytest.mark.slow
def test_one_million_rows_give_a_byte_identical_spec_on_dask(cluster: object) -> None:
    """Fast counterparts: the bundled year and the 40,000-row gappy table above."""
    _same_spec(cluster, bike_like(1_000_000))

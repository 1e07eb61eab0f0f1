"""The monitor with `compute.scheduler` set reduces the current window's drift statistics on Dask workers
(tasks/monitoring/drift_on_dask.py OnDask) and reaches the same verdicts: every verdict field equal, PSI, KS and its
p-value, the Wasserstein distance and the category statistics exact up to float rounding (the Wasserstein integral
of a crossing gap is summed in another order: 1e-9 relative in tests/test_scale_equivalence.py); the verdict's floats
are rounded to 6 significant digits, so the whole verdict dict is equal.
A LocalCluster of 2 processes; the real `dask scheduler` + workers: tests/test_scale_cluster.py.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.compute import Scheduler
from tasks.kinds.table_drift import measure_drift
from tasks.monitoring import drift
from tasks.monitoring.data_drift import assess
from tasks.monitoring.drift import measurer
from tasks.monitoring.drift_input import DriftSettings
from tasks.monitoring.drift_on_dask import OnDask

pytestmark = pytest.mark.timeout(300)
TRAINING_END = pd.Timestamp("2011-03-27 01:00")
NUMERIC = [*PROBLEM.numeric_features, PROBLEM.target]
CATEGORICAL = list(PROBLEM.categorical_features)
QUICK = DriftSettings(adversarial_rows=0)  # the adversarial classifier does not use the workers: left out here


@pytest.fixture
def cluster(dask_cluster: object) -> object:
    return dask_cluster  # one LocalCluster per test process (tests/conftest.py)


@pytest.fixture(scope="module")
def rows(bike_source: pd.DataFrame) -> pd.DataFrame:
    return bike_source.assign(timestamp=PROBLEM.derive_timestamp(bike_source))


def _same(
    reference: pd.DataFrame, current: pd.DataFrame, client: Any, settings: DriftSettings = QUICK
) -> dict[str, Any]:
    kw = {"numeric": NUMERIC, "categorical": CATEGORICAL, "settings": settings, "time_column": "timestamp"}
    local = assess(reference, current, **kw)
    assert assess(reference, current, **kw, on=OnDask(client, 5)) == local
    assert all(local["columns"][name]["wasserstein_std"] is not None for name in NUMERIC)
    return local


def test_a_later_season_drifts_the_same_way_on_dask(rows: pd.DataFrame, cluster: Any) -> None:
    july = rows[(rows.timestamp >= "2011-07-01") & (rows.timestamp < "2011-08-01")].copy()
    july.loc[july.index[::40], "hum"] = np.nan  # missing values: PSI's own bin, left out of KS
    verdict = _same(rows[rows.timestamp < TRAINING_END], july, cluster)
    assert verdict["verdict"] == "drift" and "temp" in verdict["drifted_columns"]


def test_quiet_rows_stay_quiet_on_dask(rows: pd.DataFrame, cluster: Any) -> None:
    after = rows[(rows.timestamp >= TRAINING_END) & (rows.timestamp < "2011-04-13 14:00")]
    calendar = DriftSettings(adversarial_rows=0, expected_to_change=("season",))  # season: measured, not counted
    verdict = _same(rows[rows.timestamp < TRAINING_END], after, cluster, calendar)
    assert (verdict["verdict"], verdict["drifted_columns"]) == ("no_drift", [])


def test_the_monitor_measure_with_a_scheduler_uses_the_workers(
    rows: pd.DataFrame, cluster: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drift, "evidently_snapshot", lambda *_: None)  # the page's pictures: not the statistics
    address = cluster.scheduler.address
    reference = rows[rows.timestamp < TRAINING_END]
    july = rows[(rows.timestamp >= "2011-07-01") & (rows.timestamp < "2011-08-01")]
    local, _ = measure_drift(reference, july, PROBLEM, measurer(QUICK))
    with caplog.at_level(logging.INFO, logger="tasks.monitoring.drift"):
        on_dask, _ = measure_drift(reference, july, PROBLEM, measurer(QUICK, Scheduler(address, address=address)))
    assert "on 2 Dask worker(s)" in caplog.text
    for key in ("verdict", "dataset_drift", "signals_fired", "drifted_columns", "drift_share", "why"):
        assert on_dask[key] == local[key], key

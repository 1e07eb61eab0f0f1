"""The data stages on Dask give what the single process gives: validate's verdicts, reports and validated data byte
for byte, the feature spec's statistics and the drift statistics within the tolerances stated below.

Fast: the bundled year on a LocalCluster of 2 worker processes. Slow (make test-all): a generated 1M-row table.
Real `dask scheduler` + `dask worker` processes, and a worker killed mid-stage: tests/test_scale_cluster.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.bike_demand import PROBLEM
from tasks.core.compute import Scheduler
from tasks.core.errors import PipelineError
from tasks.kinds.table_checks import ValidateSettings, validate
from tasks.kinds.table_split import fit_feature_spec
from tests.scale_data import bike_like, bike_rows

pytestmark = pytest.mark.timeout(600)
MEAN_RTOL = 1e-9  # Dask's tree of partial sums against pandas' single pass: float64 rounding only
WASSERSTEIN_RTOL = 1e-9  # exact: crossing gaps taken step by step from their values (tasks/scale/drift_counts.py)
EXACT_RTOL = 1e-12  # PSI, KS, its p-value, categorical statistics: the same integer counts, divided the same way


@pytest.fixture
def cluster(dask_cluster: object) -> object:
    return dask_cluster  # one LocalCluster per test process (tests/conftest.py)


def _settings(scheduler: Scheduler, chunk_rows: int) -> ValidateSettings:
    return ValidateSettings(
        chunk_rows=chunk_rows,
        max_gap=pd.Timedelta("1d"),
        now=pd.Timestamp("2200-01-01"),
        scheduler=scheduler,
        data_docs=False,  # Data Docs are built from the same results (byte-equal with them: tests/data/)
    )


def _validate(work: Path, raw: Path, scheduler: Scheduler, chunk_rows: int) -> tuple[str, dict[str, bytes]]:
    """(the failure message or "", every file validate wrote, by relative path)."""
    message = ""
    try:
        validate(PROBLEM, _settings(scheduler, chunk_rows), raw, work / "validated", work / "report")
    except PipelineError as err:
        # the quarantine folder is named after the run's time (then the batch's hash): the rest must be equal
        message = re.sub(r"\d{8}T\d{6}Z-", "TIME-", str(err).replace(str(work), "WORK"))
    files = {
        str(p.relative_to(work)): p.read_bytes()
        for p in sorted(work.rglob("*"))
        if p.is_file() and "runs" not in p.parts and "quarantine" not in p.parts
    }
    return message, files


def _both_ways(tmp_path: Path, frame: pd.DataFrame, client: object, chunk_rows: int, row_group: int):
    raw = tmp_path / "raw" / "data.parquet"
    raw.parent.mkdir(parents=True)
    frame.to_parquet(raw, index=False, row_group_size=row_group)
    address = client.scheduler.address  # type: ignore[attr-defined]
    local = _validate(tmp_path / "local", raw, Scheduler(), chunk_rows)
    on_dask = _validate(tmp_path / "dask", raw, Scheduler(address, address=address), chunk_rows)
    return local, on_dask


def test_validate_on_dask_writes_the_same_bytes_as_the_single_process(tmp_path: Path, cluster: object) -> None:
    # row groups of 1,000 rows read by the workers, chunks of 1,500: chunk edges fall inside partitions
    (message, files), (dask_message, dask_files) = _both_ways(tmp_path, bike_rows(), cluster, 1_500, 1_000)
    assert message == dask_message
    assert files.keys() == dask_files.keys() and "report/summary.json" in files
    assert files == dask_files


def test_a_bad_batch_fails_on_dask_with_the_same_message(tmp_path: Path, cluster: object) -> None:
    bad = bike_rows()
    bad.loc[100, "hum"] = 1.7  # out of range
    bad = pd.concat([bad.iloc[:3000], bad.iloc[3100:], bad.iloc[[5000]]], ignore_index=True)  # a gap, a duplicate
    (message, files), (dask_message, dask_files) = _both_ways(tmp_path, bad, cluster, 2_000, 700)
    assert "expectation(s) failed" in message and "hum" in message
    assert message == dask_message
    assert not any(name.startswith("validated") for name in dask_files)  # nothing half written
    assert files == dask_files


def _spec_statistics(frame: pd.DataFrame, client: object, partitions: int) -> None:
    import dask.dataframe as dd

    from tasks.scale.feature_stats import fit_statistics

    spec = fit_feature_spec(frame, PROBLEM)
    numeric, categorical = fit_statistics(
        client,
        dd.from_pandas(frame, npartitions=partitions),
        list(PROBLEM.numeric_features),
        list(PROBLEM.categorical_features),
    )
    assert categorical == spec["categorical"]
    assert numeric.keys() == spec["numeric"].keys()
    for name, stats in spec["numeric"].items():
        for key, value in stats.items():
            assert numeric[name][key] == pytest.approx(value, rel=MEAN_RTOL), (name, key)


def test_feature_statistics_fitted_on_dask_equal_the_single_process(cluster: object) -> None:
    _spec_statistics(bike_rows(), cluster, 7)


def _drift(reference: pd.DataFrame, current: pd.DataFrame, client: object, partitions: int) -> None:
    import dask.dataframe as dd

    from tasks.monitoring import drift_on_dask, drift_stats

    frame = dd.from_pandas(current, npartitions=partitions)
    for name in PROBLEM.numeric_features:
        ref = reference[name].to_numpy(dtype="float64")
        expected = drift_stats.numeric_statistics(
            drift_stats.numeric_reference(ref), current[name].to_numpy(dtype="float64")
        )
        got = drift_on_dask.numeric_statistics(client, drift_stats.numeric_reference(ref), frame[name])
        for key in ("psi", "ks_statistic", "ks_p"):
            assert got[key] == pytest.approx(expected[key], rel=EXACT_RTOL, abs=1e-300), (name, key)
        assert got["wasserstein_std"] == pytest.approx(expected["wasserstein_std"], rel=WASSERSTEIN_RTOL), name
    for name in PROBLEM.categorical_features:
        ref_counts = reference[name].astype(str).value_counts()
        cur_counts = current[name].astype(str).value_counts()
        categories = sorted(set(ref_counts.index) | set(cur_counts.index))
        expected = drift_stats.categorical_statistics(
            ref_counts.reindex(categories, fill_value=0).to_numpy(),
            cur_counts.reindex(categories, fill_value=0).to_numpy(),
        )
        got = drift_on_dask.categorical_statistics_of(client, reference[name], frame[name])
        assert got == pytest.approx(expected, rel=EXACT_RTOL), name


def test_drift_statistics_on_dask_equal_the_single_process(cluster: object) -> None:
    rows = bike_rows()
    summer = rows["timestamp"].dt.month.between(6, 8)
    current = rows.loc[summer].reset_index(drop=True)
    current.loc[::50, "temp"] = np.nan  # missing values count in PSI's own bin
    _drift(rows.loc[~summer], current, cluster, 5)


@pytest.mark.slow
def test_one_million_rows_give_the_same_verdicts_and_statistics_on_dask(tmp_path: Path, cluster: object) -> None:
    """The fast counterparts above are the same checks on the bundled year."""
    table = bike_like(1_000_000)
    (message, files), (dask_message, dask_files) = _both_ways(tmp_path, table, cluster, 300_000, 100_000)
    assert message == dask_message and files == dask_files
    _spec_statistics(table, cluster, 10)
    _drift(table.iloc[:200_000], table.iloc[200_000:].reset_index(drop=True), cluster, 10)

"""Benchmark: validate + featurize statistics + drift statistics, single process vs a Dask LocalCluster of 2 workers.

    .venv/bin/python tests/benchmarks/bench_scale.py --rows 10000000              # 10M rows
    .venv/bin/python tests/benchmarks/bench_scale.py --rows 10000000 100000000    # and 100M

Not a test (nothing asserts a time). Data: the bundled bike year repeated (tests/scale_data.py) as Parquet files of
1M rows in time order (the date partitions a feed writes), under $TRAINLINE_BENCH_DIR (default .bench/scale/).
Each mode runs in its own process:
- single: the stage's own path: validate streams the files in 500k-row chunks through both suites, the extra checks
  and the reference checks; featurize's statistics from the whole table in memory (pandas, as the stage does); drift
  of every feature column, the first 1M rows as reference, the rest in memory as current (drift_stats).
- dask: `compute.scheduler: processes:2` (2 worker processes, 1 thread each): the workers read the partitions and the
  stage's accumulators take them in order (the same chunks, so the same verdicts); the feature statistics and drift
  statistics are reduced on the workers (tasks/scale/), nothing gathered.
Reported: wall time per step, peak RSS of the driving process and of each worker (getrusage in each), the ratio.
Figures go to stdout and .bench/bench_scale.json (merged with earlier runs').
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DIR = Path(os.environ.get("TRAINLINE_BENCH_DIR", ROOT / ".bench"))
REFERENCE_ROWS = 1_000_000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _data(rows: int) -> Path:
    from tests.scale_data import write_partitions

    folder = BENCH_DIR / "scale" / f"rows-{rows}"
    if not (folder / "_done").exists():
        write_partitions(rows, folder)
        (folder / "_done").write_text("")
    return folder


def _validate_settings(scheduler: Any) -> Any:
    import pandas as pd

    from tasks.kinds.table_checks import ValidateSettings

    return ValidateSettings(max_gap=pd.Timedelta("1d"), now=pd.Timestamp("2262-01-01"), scheduler=scheduler)


def _suites() -> tuple[Any, Any, Any]:
    from pipelines.bike_demand import PROBLEM
    from tasks.kinds.table_checks import load_reference_profile, load_suite_json

    return (
        load_suite_json(PROBLEM.suite_path("raw")),
        load_suite_json(PROBLEM.suite_path("features")),
        (load_reference_profile(PROBLEM)),
    )


def _verdict(result: Any) -> dict[str, Any]:
    return {"rows": result.rows, "failed": sorted(f.describe()[:80] for f in result.outcome.failures)}


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def run_single(folder: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from pipelines.bike_demand import PROBLEM
    from tasks.kinds.table_checks import iter_parquet, validate_stream
    from tasks.kinds.table_split import fit_feature_spec
    from tasks.monitoring import drift_stats

    raw, features, reference = _suites()
    times: dict[str, float] = {}
    started = time.perf_counter()
    chunks = (chunk for path in _files(folder) for chunk in iter_parquet(path, 500_000))
    result = validate_stream(chunks, raw, features, PROBLEM, _validate_settings(None), None, reference)
    times["validate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    frame = pd.concat([pd.read_parquet(path) for path in _files(folder)], ignore_index=True)
    spec = fit_feature_spec(frame, PROBLEM)
    times["featurize_stats_s"] = time.perf_counter() - started
    started = time.perf_counter()
    drift = {}
    for name in PROBLEM.numeric_features:
        values = frame[name].to_numpy(dtype="float64")
        ref = drift_stats.numeric_reference(values[:REFERENCE_ROWS])
        drift[name] = drift_stats.numeric_statistics(ref, values[REFERENCE_ROWS:])["ks_statistic"]
    times["drift_s"] = time.perf_counter() - started
    return {
        "times": times,
        "verdict": _verdict(result),
        "temp_mean": spec["numeric"]["temp"]["mean"],
        "ks": {k: float(np.round(v, 12)) for k, v in drift.items()},
        "peak_mb": {"driver": _peak_mb()},
    }


def run_dask(folder: Path, workers: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from pipelines.bike_demand import PROBLEM
    from tasks.core.compute import dask_client, parse_scheduler
    from tasks.kinds.table_checks import validate_stream
    from tasks.monitoring import drift_on_dask, drift_stats
    from tasks.scale.feature_stats import fit_statistics
    from tasks.scale.partitions import read_table, rechunk, stream

    raw, features, reference = _suites()
    scheduler = parse_scheduler(f"processes:{workers}")
    times: dict[str, float] = {}
    with dask_client(scheduler) as client:
        started = time.perf_counter()
        table = read_table(str(folder / "part-*.parquet"))
        chunks = rechunk(stream(client, table), 500_000)
        result = validate_stream(chunks, raw, features, PROBLEM, _validate_settings(scheduler), None, reference)
        times["validate_s"] = time.perf_counter() - started
        started = time.perf_counter()
        numeric, _ = fit_statistics(client, table, list(PROBLEM.numeric_features), list(PROBLEM.categorical_features))
        times["featurize_stats_s"] = time.perf_counter() - started
        started = time.perf_counter()
        first = pd.read_parquet(_files(folder)[0], columns=list(PROBLEM.numeric_features))
        current = read_table(str(folder / "part-*.parquet"), columns=list(PROBLEM.numeric_features))
        import pyarrow.parquet as pq

        skip = pq.ParquetFile(_files(folder)[0]).num_row_groups  # partitions are row groups: the first file's are
        current = current.partitions[skip:]  # the reference (1M rows)
        drift = {}
        for name in PROBLEM.numeric_features:
            ref = drift_stats.numeric_reference(first[name].to_numpy(dtype="float64"))
            drift[name] = drift_on_dask.numeric_statistics(client, ref, current[name])["ks_statistic"]
        times["drift_s"] = time.perf_counter() - started
        worker_peaks = client.run(_peak_mb)
    return {
        "times": times,
        "verdict": _verdict(result),
        "temp_mean": numeric["temp"]["mean"],
        "ks": {k: float(np.round(v, 12)) for k, v in drift.items()},
        "peak_mb": {"driver": _peak_mb(), "workers": sorted(worker_peaks.values())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", nargs="+", default=["single", "dask"])
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)  # internal: MODE ROWS WORKERS in this process
    args = parser.parse_args()
    if args.case:
        mode, rows, workers = args.case[0], int(args.case[1]), int(args.case[2])
        folder = _data(rows)
        print(json.dumps(run_single(folder) if mode == "single" else run_dask(folder, workers)))
        return
    out = BENCH_DIR / "bench_scale.json"
    figures = json.loads(out.read_text()) if out.exists() else {}
    for rows in args.rows:
        started = time.perf_counter()
        _data(rows)
        print(f"{rows:,} rows: data ready in {time.perf_counter() - started:.0f} s", flush=True)
        case: dict[str, Any] = {"machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.platform()}"}
        for mode in args.modes:
            done = subprocess.run(
                [sys.executable, __file__, "--case", mode, str(rows), str(args.workers)],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            if done.returncode != 0:
                case[mode] = {"error": done.stderr[-2000:]}
            else:
                case[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {mode}: {json.dumps(case[mode])[:1500]}", flush=True)
        if "times" in case.get("single", {}) and "times" in case.get("dask", {}):
            total = {m: sum(case[m]["times"].values()) for m in ("single", "dask")}
            case["ratio_dask_over_single"] = total["dask"] / total["single"]
            case["same_verdict"] = case["single"]["verdict"] == case["dask"]["verdict"]
            ratio, same = case["ratio_dask_over_single"], case["same_verdict"]
            print(f"  total: single {total['single']:.1f} s, dask {total['dask']:.1f} s ({ratio:.2f}x), same: {same}")
        figures[str(rows)] = case
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: the validate stage on bike-shaped data at 1M and 10M rows (15 source columns + timestamp).

    .venv/bin/python tests/benchmarks/bench_validate.py                 # 1M and 10M rows
    .venv/bin/python tests/benchmarks/bench_validate.py --rows 200000   # any sizes

Not a test (pytest does not collect it, nothing asserts a time): it prints rows/s and the peak RSS of a fresh
process that runs `tasks.checks.validate.validate` (both committed suites, the extra checks, the validated Parquet
output
and Data Docs) on a generated data/raw/data.parquet. Generated inputs are cached under .bench/ (git-ignored).
The committed suite's row-count ceiling (3x a year of hours) is raised to the benchmark size, and the data is one
row per minute so timestamps stay unique; everything else is checked exactly as in the pipeline.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
# generated inputs are cached here; the test points it at its own temporary folder
BENCH_DIR = Path(os.environ.get("TRAINLINE_BENCH_DIR", REPO / ".bench"))
MONTHS = np.array(["Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec"])
WEATHER = np.array(["clear", "cloudy/misty", "light rain/snow", "heavy rain/snow"])
CHUNK = 1_000_000


def bike_like(start: int, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rows `start .. start+rows` of a minute-by-minute series with the bike data's columns and value ranges."""
    times = pd.Timestamp("2011-01-01") + pd.to_timedelta(np.arange(start, start + rows), unit="min")
    month = times.month.to_numpy()
    hour = times.hour.to_numpy()
    weekday = times.weekday.to_numpy()
    seasonal = 0.5 - 0.3 * np.cos(2 * np.pi * (times.dayofyear.to_numpy() - 20) / 365)
    temp = np.clip(seasonal + rng.normal(0, 0.08, rows), 0.02, 1.0).round(2)
    casual = rng.poisson(5 + 30 * seasonal * (weekday >= 5), rows)
    registered = rng.poisson(20 + 150 * np.exp(-(((hour - 17) / 3.0) ** 2)) + 120 * np.exp(-(((hour - 8) / 2) ** 2)))
    return pd.DataFrame(
        {
            "season": ((month % 12) // 3 + 1).astype("int64"),
            "mnth": MONTHS[month - 1],
            "day": times.dayofyear.to_numpy().astype("int64"),
            "hr": hour.astype("int64"),
            "holiday": (rng.random(rows) < 0.03).astype("int64"),
            "weekday": ((weekday + 1) % 7).astype("int64"),
            "workingday": (weekday < 5).astype("int64"),
            "weathersit": WEATHER[np.minimum(rng.geometric(0.6, rows) - 1, 2)],
            "temp": temp,
            "atemp": np.clip(temp + rng.normal(0, 0.03, rows), 0, 1).round(4),
            "hum": np.clip(rng.normal(0.63, 0.19, rows), 0, 1).round(2),
            "windspeed": np.clip(rng.gamma(2.0, 0.095, rows), 0, 0.85).round(4),
            "casual": casual.astype("int64"),
            "registered": registered.astype("int64"),
            "bikers": (casual + registered).astype("int64"),
            "timestamp": times.to_numpy(),
        }
    )


def generate(rows: int) -> Path:
    """Write (once) a raw Parquet file of `rows` rows, as collect would, in chunks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = BENCH_DIR / f"raw-{rows}" / "data.parquet"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rows)
    writer = None
    for start in range(0, rows, CHUNK):
        table = pa.Table.from_pandas(bike_like(start, min(CHUNK, rows - start), rng), preserve_index=False)
        writer = writer or pq.ParquetWriter(path.with_suffix(".tmp"), table.schema)
        writer.write_table(table, row_group_size=100_000)
    assert writer is not None
    writer.close()
    path.with_suffix(".tmp").rename(path)
    return path


def run_one(raw: Path, rows: int) -> dict[str, float]:
    """Validate `raw` in a scratch workspace (called in a fresh process, so its peak RSS is the stage's)."""
    sys.path.insert(0, str(REPO))
    from pipelines import load_problem
    from tasks.kinds.table_checks import ValidateSettings, load_suite_json, validate

    problem = load_problem("bike_demand")
    work = raw.parent / "run"
    suites = work / "expectations"
    suites.mkdir(parents=True, exist_ok=True)
    for view in ("raw", "features"):
        suite = load_suite_json(problem.suite_path(view))
        for expectation in suite["expectations"]:
            if expectation["type"] == "expect_table_row_count_to_be_between":
                expectation["kwargs"]["max_value"] = rows
        (suites / f"{view}.json").write_text(json.dumps(suite))
    problem = dataclasses.replace(problem, expectations_dir=suites)
    settings = ValidateSettings(max_gap=pd.Timedelta("1d"), now=pd.Timestamp("2100-01-01"))
    start = time.perf_counter()
    result = validate(problem, settings, raw, work / "validated", work / "report")
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": result.rows,
        "columns": 16,
        "seconds": round(seconds, 2),
        "rows_per_s": round(result.rows / seconds),
        "peak_rss_mb": round(peak_mb),
        "checks": len(result.outcome.findings),
        "passed": result.outcome.success,
        "chunk_rows": settings.chunk_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--run-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_one(args.run_one, args.rows[0])))
        return
    for rows in args.rows:
        raw = generate(rows)
        done = subprocess.run(
            [sys.executable, __file__, "--run-one", str(raw), "--rows", str(rows)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(f"validation of {rows} rows failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{rows:>11,} rows x 16 columns: {figures['seconds']:7.2f} s, {figures['rows_per_s']:>10,} rows/s, "
            f"peak RSS {figures['peak_rss_mb']:,} MB, {figures['checks']} checks, passed={figures['passed']}"
        )


if __name__ == "__main__":
    main()

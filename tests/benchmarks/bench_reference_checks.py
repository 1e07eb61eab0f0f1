"""Benchmark: the reference checks (tasks/kinds/table_reference.py) alone, streamed over many years of hourly rows.

    .venv/bin/python tests/benchmarks/bench_reference_checks.py [--years 115]   # 115 years ~ 1M rows

The bundled 2011 rows are repeated year after year (timestamps shifted), read in `validate.chunk_rows`-sized chunks
as validate reads data/raw. Prints rows/s and the most month samples held at once (the memory bound: one or two
months, whatever the length). Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    sys.path.insert(0, str(REPO))
    from pipelines import load_problem
    from tasks.kinds.table_reference import ReferenceChecks
    from tasks.kinds.table_source import select_before

    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=115)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    args = parser.parse_args()
    problem = load_problem("bike_demand")
    year = select_before(pd.read_csv(REPO / "data/sources/bikeshare-2011.csv.gz"), problem, None)
    profile = json.loads(problem.suite_path("reference").read_text())
    frame = pd.concat(
        [year.assign(timestamp=year["timestamp"] + pd.DateOffset(years=k)) for k in range(args.years)],
        ignore_index=True,
    )
    checks, held = ReferenceChecks(profile), 0
    start = time.perf_counter()
    for first in range(0, len(frame), args.chunk_rows):
        checks.update(frame.iloc[first : first + args.chunk_rows])
        held = max(held, len(checks.samples))
    results = checks.finish()
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(frame):,} rows, {args.years * 12} months, {len(results)} checks: {seconds:.2f} s, "
        f"{len(frame) / seconds:,.0f} rows/s, at most {held} month sample(s) held, peak RSS {peak_mb:,.0f} MB "
        f"(input frame included), passed={all(r.success for r in results)}"
    )


if __name__ == "__main__":
    main()

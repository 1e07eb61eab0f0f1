"""Benchmark: the drift verdict (tasks/monitoring/data_drift.py `assess`) beside Evidently's DataDriftPreset, same data.

    .venv/bin/python tests/benchmarks/bench_drift.py                          # 100k, 1M and 10M rows
    .venv/bin/python tests/benchmarks/bench_drift.py --rows 100000 1000000    # any sizes
    .venv/bin/python tests/benchmarks/bench_drift.py --evidently-max-rows 0   # ours only

Not a test (nothing asserts a time). Data: a reference and a current window of N rows each, 15 columns (10 numeric
of several shapes, some rounded so values tie; 5 categorical), generated with a fixed seed; 3 of the 15 columns
drift in the current window. Each case runs in its own process, started by a wrapper process that reads the case's
peak RSS with getrusage(RUSAGE_CHILDREN); the time is that of the call alone (`assess`, including adversarial
validation on its bounded sample; Evidently: its DataDriftPreset verdict, tests/benchmarks/evidently_baseline.py,
without writing HTML), after the imports and the data are ready. "data only" is a process that imports everything
and builds the data without comparing it: the RSS every case starts from. Evidently is skipped where its peak RSS,
extrapolated linearly from the largest smaller size it ran at (in this run or an earlier one), would exceed half the
memory available now (the reason is printed). Figures go to stdout and .bench/bench_drift.json (merged with earlier
runs').
Target from the issue: 1M x 15 in <= 5 s and <= 1 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
BENCH_DIR = Path(os.environ.get("TRAINLINE_BENCH_DIR", REPO / ".bench"))
NUMERIC = [f"num_{i}" for i in range(10)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
DRIFTING = ("num_0", "num_5", "cat_0")  # 3 of 15: the 0.5 share rule hides them


def bench_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reference, current), `rows` rows each; the current window drifts in DRIFTING."""
    frames = []
    for side in (0, 1):
        rng = np.random.default_rng([seed, side])
        columns: dict[str, np.ndarray] = {}
        for i, name in enumerate(NUMERIC):
            shape = i % 5
            if shape == 0:
                values = rng.normal(0.0, 1.0, rows)
            elif shape == 1:
                values = np.round(rng.gamma(2.0, 10.0, rows), 1)  # ties, like rounded measurements
            elif shape == 2:
                values = rng.uniform(0.0, 1.0, rows)
            elif shape == 3:
                values = rng.poisson(4.0, rows).astype("float64")  # counts
            else:
                values = np.round(rng.lognormal(3.0, 0.5, rows), 2)
            columns[name] = values
        for i, name in enumerate(CATEGORICAL):
            columns[name] = rng.integers(0, 4 + 4 * i, rows)
        if side == 1:
            columns["num_0"] = columns["num_0"] + 0.5
            columns["num_5"] = columns["num_5"] * 2.0
            columns["cat_0"] = np.where(rng.uniform(size=rows) < 0.3, 0, columns["cat_0"])
        frames.append(pd.DataFrame(columns))
    return frames[0], frames[1]


def run_case(engine: str, rows: int) -> dict[str, Any]:
    """In the case's own process: build the data, run one engine, return its figures."""
    from tasks.monitoring.data_drift import assess
    from tasks.monitoring.drift_input import DriftSettings

    if engine == "evidently":
        import evidently.presets  # noqa: F401  (the import is not what is measured)

        from tests.benchmarks.evidently_baseline import preset_verdict
    reference, current = bench_data(rows)
    began = time.perf_counter()
    if engine == "ours":
        found = assess(reference, current, numeric=NUMERIC, categorical=CATEGORICAL, settings=DriftSettings())
        result = {
            "verdict": found["verdict"],
            "fired": found["fired"],
            "drifted_columns": found["drifted_columns"],
            "adversarial_auc": found["adversarial"]["roc_auc"],
        }
    elif engine == "evidently":
        summary = preset_verdict(reference, current, NUMERIC, CATEGORICAL, drift_share=0.5)
        result = {
            "verdict": "drift" if summary["dataset_drift"] else "no_drift",
            "drifted_columns": summary["drifted_columns"],
            "drift_share": summary["drift_share"],
        }
    else:  # "data only": imports and data, nothing compared
        result = {}
    return {"seconds": time.perf_counter() - began, **result}


def measured(engine: str, rows: int, timeout: int) -> dict[str, Any]:
    """Run one case in a child of a wrapper process; the wrapper reports the child's peak RSS."""
    done = subprocess.run(
        [sys.executable, __file__, "--wrap", engine, str(rows)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def wrap(engine: str, rows: int) -> None:
    done = subprocess.run([sys.executable, __file__, "--case", engine, str(rows)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kB
    print(json.dumps(figures))


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def evidently_skip_reason(rows: int, results: dict[int, dict[str, Any]], max_rows: int | None) -> str | None:
    if max_rows is not None and rows > max_rows:
        return f"skipped: above --evidently-max-rows {max_rows:,}"
    ran = [
        (r, f["evidently"]["peak_rss_mb"])
        for r, f in results.items()
        if r < rows and "peak_rss_mb" in f.get("evidently", {})
    ]
    if not ran:
        return None
    largest, rss = max(ran)
    estimate = rss * rows / largest
    if estimate > available_mb() / 2:
        return (
            f"skipped: peak RSS extrapolated from {largest:,} rows ({rss:,.0f} MB) is {estimate:,.0f} MB, more than "
            f"half of the {available_mb():,.0f} MB available now on this shared machine"
        )
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--evidently-max-rows", type=int, default=None)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per case")
    parser.add_argument("--case", nargs=2, metavar=("ENGINE", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--wrap", nargs=2, metavar=("ENGINE", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]))))
        return
    if args.wrap:
        wrap(args.wrap[0], int(args.wrap[1]))
        return
    print(f"{os.cpu_count()} cores; {len(NUMERIC) + len(CATEGORICAL)} columns; reference and current of N rows each")
    saved = BENCH_DIR / "bench_drift.json"
    # Earlier runs' figures stay (a size measured again is replaced): the 10M case runs once, on its own.
    earlier = json.loads(saved.read_text()) if saved.exists() else {}
    results: dict[int, dict[str, Any]] = {int(k): v for k, v in earlier.items()}
    for rows in sorted(args.rows):
        figures: dict[str, Any] = {"data_only": measured("data", rows, args.timeout)}
        figures["ours"] = measured("ours", rows, args.timeout)
        reason = evidently_skip_reason(rows, results, args.evidently_max_rows)
        figures["evidently"] = {"skipped": reason} if reason else measured("evidently", rows, args.timeout)
        results[rows] = figures
        print(line(rows, figures), flush=True)
        BENCH_DIR.mkdir(exist_ok=True)
        saved.write_text(json.dumps({str(k): v for k, v in sorted(results.items())}, indent=2) + "\n")
    print(f"figures (this run and earlier ones): {saved}")


def line(rows: int, figures: dict[str, Any]) -> str:
    ours, evidently, data = figures["ours"], figures["evidently"], figures["data_only"]

    def side(f: dict[str, Any]) -> str:
        if "seconds" not in f:
            return f.get("skipped") or f.get("error", "?")
        return f"{f['seconds']:.2f} s, {f['peak_rss_mb']:,.0f} MB, {f['verdict']} {f['drifted_columns']}"

    text = f"{rows:>12,} rows | data only {data.get('peak_rss_mb', 0):,.0f} MB | ours {side(ours)} | "
    text += f"evidently {side(evidently)}"
    if "seconds" in ours and "seconds" in evidently:
        text += (
            f" | time x{evidently['seconds'] / ours['seconds']:.1f}, "
            f"RSS x{evidently['peak_rss_mb'] / ours['peak_rss_mb']:.1f}"
        )
    return text


if __name__ == "__main__":
    main()

"""False alarms and detections of the drift verdict on the bundled bike data, beside Evidently's preset.

    .venv/bin/python tests/benchmarks/false_alarms.py                      # as_of 2011-05-01, windows every 2 days
    .venv/bin/python tests/benchmarks/false_alarms.py --as-of 2011-09-01 --step-days 1
    .venv/bin/python tests/benchmarks/false_alarms.py --no-evidently       # ours only (faster)

Not a test (nothing asserts a rate). The reference is what collect would take: the source rows before `--as-of`
(data/sources/bikeshare-2011.csv.gz, the problem's features and target). Scenarios, each with windows of 7 and 30
days:
- "reference windows": windows cut from the reference itself, every `--step-days` days. Every verdict of drift
  here is a false alarm (target: none);
- "later months": the windows starting on the 1st of each month after `--as-of` (known drift: the season moves on);
- "rescaled <column>": reference windows with one column multiplied by `--factor` (a unit or sensor change);
- "swapped <a>/<b>": reference windows with two columns' values swapped (a schema mix-up).
For each scenario: the share of windows the verdict calls drift, by signal, and the same share for Evidently's
DataDriftPreset as the project used it (dataset drift at a 0.5 share of drifted columns). `season` is declared
expected-to-change (a calendar column). Figures go to stdout and .bench/false_alarms.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.bike_demand import PROBLEM  # noqa: E402
from tasks.monitoring.data_drift import assess  # noqa: E402
from tasks.monitoring.drift_input import DriftSettings  # noqa: E402

SOURCE = REPO / "data/sources/bikeshare-2011.csv.gz"
NUMERIC = [*PROBLEM.numeric_features, PROBLEM.target]
CATEGORICAL = list(PROBLEM.categorical_features)
EXPECTED_TO_CHANGE = ("season",)
BENCH_DIR = Path(os.environ.get("TRAINLINE_BENCH_DIR", REPO / ".bench"))


def bike_with_time() -> pd.DataFrame:
    frame = pd.read_csv(SOURCE)
    return frame.assign(timestamp=PROBLEM.derive_timestamp(frame)).sort_values("timestamp", kind="stable")


def between(frame: pd.DataFrame, start: pd.Timestamp, days: int) -> pd.DataFrame:
    return frame[(frame.timestamp >= start) & (frame.timestamp < start + pd.Timedelta(days=days))]


def reference_windows(reference: pd.DataFrame, days: int, step: int) -> list[pd.DataFrame]:
    first, end = reference.timestamp.min().normalize(), reference.timestamp.max()
    starts = pd.date_range(first, end - pd.Timedelta(days=days) + pd.Timedelta(hours=1), freq=f"{step}D")
    return [w for w in (between(reference, s, days) for s in starts) if len(w) > 24]


def later_windows(later: pd.DataFrame, days: int) -> list[pd.DataFrame]:
    starts = pd.date_range(later.timestamp.min().normalize(), later.timestamp.max(), freq="MS")
    return [w for w in (between(later, s, days) for s in starts) if len(w) > 24]


def evidently_drift(reference: pd.DataFrame, window: pd.DataFrame) -> bool:
    from tests.benchmarks.evidently_baseline import preset_verdict

    summary = preset_verdict(reference, window, NUMERIC, CATEGORICAL, drift_share=0.5)
    return bool(summary["dataset_drift"])


def score(
    name: str, reference: pd.DataFrame, windows: list[pd.DataFrame], days: int, evidently: bool
) -> dict[str, Any]:
    settings = DriftSettings(expected_to_change=EXPECTED_TO_CHANGE, seed=0)
    fired: collections.Counter[str] = collections.Counter()
    columns: collections.Counter[str] = collections.Counter()
    drift = evidently_flags = 0
    began = time.perf_counter()
    for window in windows:
        found = assess(
            reference, window, numeric=NUMERIC, categorical=CATEGORICAL, settings=settings, time_column="timestamp"
        )
        drift += found["verdict"] == "drift"
        fired.update(found["fired"])
        columns.update(found["drifted_columns"])
        if evidently:
            evidently_flags += evidently_drift(reference, window)
    count = len(windows)
    return {
        "scenario": name,
        "days": days,
        "windows": count,
        "drift_share": drift / count if count else None,
        "by_signal": {k: v / count for k, v in sorted(fired.items())},
        "drifted_columns": dict(columns.most_common()),
        "evidently_drift_share": evidently_flags / count if evidently and count else None,
        "seconds_per_window": (time.perf_counter() - began) / count if count else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--as-of", default="2011-05-01")
    parser.add_argument("--step-days", type=int, default=2)
    parser.add_argument("--factor", type=float, default=1.5, help="rescale factor of the rescaled column")
    parser.add_argument("--rescale", default="hum")
    parser.add_argument("--swap", nargs=2, default=["temp", "hum"])
    parser.add_argument("--no-evidently", action="store_true")
    args = parser.parse_args()
    bike = bike_with_time()
    as_of = pd.Timestamp(args.as_of)
    reference, later = bike[bike.timestamp < as_of], bike[bike.timestamp >= as_of]
    evidently = not args.no_evidently
    first, second = args.swap
    print(f"reference: {len(reference)} rows before {as_of.date()}; columns {NUMERIC + CATEGORICAL}")
    results = []
    for days in (7, 30):
        own = reference_windows(reference, days, args.step_days)
        scenarios = {
            "reference windows (false alarms)": own,
            "later months": later_windows(later, days),
            f"rescaled {args.rescale} x{args.factor:g}": [
                w.assign(**{args.rescale: w[args.rescale] * args.factor}) for w in own
            ],
            f"swapped {first}/{second}": [w.assign(**{first: w[second], second: w[first]}) for w in own],
        }
        for name, windows in scenarios.items():
            result = score(name, reference, windows, days, evidently)
            results.append(result)
            print(row(result), flush=True)
    BENCH_DIR.mkdir(exist_ok=True)
    out = BENCH_DIR / "false_alarms.json"
    out.write_text(json.dumps({"as_of": args.as_of, "step_days": args.step_days, "results": results}, indent=2))
    print(f"figures: {out}")


def row(result: dict[str, Any]) -> str:
    share = "-" if result["drift_share"] is None else f"{result['drift_share']:.0%}"
    evidently = result["evidently_drift_share"]
    top = ", ".join(f"{c} {n}" for c, n in list(result["drifted_columns"].items())[:4]) or "none"
    signals = ", ".join(f"{k} {v:.0%}" for k, v in result["by_signal"].items()) or "none"
    return (
        f"{result['scenario']:<34} {result['days']:>2} d  {result['windows']:>3} windows  ours {share:>4} "
        f"({signals}; columns: {top})  evidently {'-' if evidently is None else f'{evidently:.0%}'}"
    )


if __name__ == "__main__":
    main()

"""Wall time of each pipeline stage, and of a no-op `dvc repro`, in a fresh temporary copy of the repository.

    python -m tests.benchmarks.stage_times [--repeat-noop 3]

A benchmark, not a test: it prints figures (seconds) for issue notes; nothing asserts on them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from flows.dvc_stages import stage_order
from tests.conftest import copy_repository, run


def time_stages(workspace: Path) -> dict[str, float]:
    seconds = {}
    for stage in stage_order(workspace):
        start = time.perf_counter()
        run(["dvc", "repro", "--single-item", stage], workspace)
        seconds[stage] = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat-noop", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = copy_repository(Path(tmp), {})
        stages = time_stages(workspace)
        noop = []
        for _ in range(args.repeat_noop):
            start = time.perf_counter()
            done = run(["dvc", "repro"], workspace)
            noop.append(time.perf_counter() - start)
            assert "Running stage" not in done.stdout, "the no-op repro ran a stage"
        metrics = json.loads((workspace / "reports/evaluation/metrics.json").read_text())
    print(f"{'stage':<10} seconds")
    for stage, secs in stages.items():
        print(f"{stage:<10} {secs:7.1f}")
    print(f"{'total':<10} {sum(stages.values()):7.1f}")
    print(f"no-op dvc repro: best {min(noop):.2f} s of {len(noop)}")
    print("test RMSE: " + ", ".join(f"{k} {v['rmse']:.2f}" for k, v in metrics.items() if isinstance(v, dict)))


if __name__ == "__main__":
    main()

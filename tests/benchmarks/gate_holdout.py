"""Figures: the gate with the trusted holdout, on real models (tasks/evaluation/holdout.py).

    .venv/bin/python tests/benchmarks/gate_holdout.py [WORKDIR]      # about 5 minutes on 2 cores

1. A broken feed that got past validation: a champion is trained on clean Jan-Apr 2011 and deployed; then
   candidates are trained on the same months poisoned (temp<->hum swapped, hum x0.6, bikers x1.5). Each is scored
   on the poisoned test rows (where the champion looks bad) and on the champion's trusted holdout.
2. A world that really changed: from that champion, candidates trained on clean data up to 2011-07-01, then
   2011-09-01 (the retraining window moving), each deployed if blessed, so the holdout is renewed each time.

Prints every champion and holdout check with its reason, the verdict and whether production moved. Not a test.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.test_gate_pipeline import run, write_features
from tests.workspace_params import effective_params

POISONS = {
    "temp<->hum swapped": lambda f: f.assign(temp=f["hum"], hum=f["temp"]),
    "hum x0.6": lambda f: f.assign(hum=(f["hum"] * 0.6).round(2)),
    "bikers x1.5": lambda f: f.assign(bikers=(f["bikers"] * 1.5).round()),
}


def show(name: str, result: dict[str, Any]) -> None:
    scores = result["metrics"]
    print(
        f"== {name}: candidate RMSE {scores['model']['rmse']:.2f}, "
        f"champion on the new rows {scores['champion']['rmse']:.2f}"
    )
    for check in result["blessing"]["checks"]:
        if check["check"] in ("champion", "holdout"):
            print(f"   {'PASS' if check['passed'] else 'FAIL'} {check['reason']}")
    gap = (result["evaluation"].get("holdout") or {}).get("champion_gap")
    print(f"   report: {gap or 'no champion gap note'}")
    moved = json.loads(result["production_after"])["version"]
    print(
        f"   blessed {result['blessing']['blessed']}; production version {moved}, "
        f"{'unchanged' if result['production_after'] == result['production_before'] else 'moved'}"
    )


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="gate-holdout-"))
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    params = effective_params()
    write_features(root, params)
    first = run(root)
    print(
        f"champion (clean Jan-Apr): RMSE {first['metrics']['model']['rmse']:.2f}, "
        f"deployed {first['receipt']['deployed']}"
    )
    for name, poison in POISONS.items():
        write_features(root, params, poison)
        show(f"trained on poisoned Jan-Apr: {name}", run(root))
    for as_of in ("2011-07-01", "2011-09-01"):
        params["collect"]["as_of"] = as_of
        write_features(root, params)
        show(f"trained on clean data before {as_of}", run(root, collect__as_of=as_of))


if __name__ == "__main__":
    main()

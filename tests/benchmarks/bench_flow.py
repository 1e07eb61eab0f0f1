"""Benchmark: the Prefect training flow against `dvc repro` on the same work, cold and no-op, plus stack start-up.

    .venv/bin/python tests/benchmarks/bench_flow.py                    # the project's DAG, fast training params
    .venv/bin/python tests/benchmarks/bench_flow.py --dag small        # the orchestration tests' four-stage DAG
    .venv/bin/python tests/benchmarks/bench_flow.py --skip-stack       # without the stack start-up measurement

Not a test (nothing asserts a time). Each side gets its own fresh copy of the repository; the Prefect server is
started before and is not counted. Cold: from nothing to the end of the DAG; no-op: the same again, every stage up
to date. Stack start-up: `python -m infra.stack up` on a fresh stack folder (server migrations, SeaweedFS, worker,
deployments), then `down`. Targets from the issue: flow/dvc ratio <= 1.10 cold, an orchestrated no-op <= 5 s.
Figures go to stdout and .bench/bench_flow.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from infra import stack  # noqa: E402
from tests.conftest import FAST_TRAIN, copy_repository, subprocess_env  # noqa: E402
from tests.orchestration.workspace import small_dag_workspace  # noqa: E402


def workspace(kind: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    return small_dag_workspace(dest) if kind == "small" else copy_repository(dest, {"train": FAST_TRAIN})


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


FLOW = "import sys; from flows.training import training_pipeline; training_pipeline(repo=sys.argv[1])"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dag", choices=["project", "small"], default="project")
    parser.add_argument("--skip-stack", action="store_true")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp:
        root = Path(tmp)
        port = stack.free_port()
        server = stack.start_prefect_server(root / "server", port, root / "server.log")
        try:
            env = subprocess_env() | {
                "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
                "PREFECT_HOME": str(root / "client"),
                "PYTHONPATH": str(REPO),
            }
            dvc_ws, flow_ws = workspace(args.dag, root / "dvc"), workspace(args.dag, root / "flow")
            figures["dvc_repro_cold_s"] = timed(["dvc", "repro"], dvc_ws, env)
            figures["flow_cold_s"] = timed([sys.executable, "-c", FLOW, str(flow_ws)], flow_ws, env)
            figures["dvc_repro_noop_s"] = timed(["dvc", "repro"], dvc_ws, env)
            figures["flow_noop_s"] = timed([sys.executable, "-c", FLOW, str(flow_ws)], flow_ws, env)
        finally:
            stack.stop(server)
        if not args.skip_stack:
            stack_ws = small_dag_workspace(root / "stack-ws")
            folder = root / "stack"
            up_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PREFECT_"))}
            began = time.perf_counter()
            up = subprocess.run(
                [sys.executable, "-m", "infra.stack", "up", "--dir", str(folder), "--repo", str(stack_ws)],
                cwd=REPO, env=up_env, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            figures["stack_up_s"] = time.perf_counter() - began
            subprocess.run(
                [sys.executable, "-m", "infra.stack", "down", "--dir", str(folder)], cwd=REPO, env=up_env, timeout=120
            )
            if up.returncode != 0:
                raise SystemExit(f"stack up failed:\n{up.stdout}\n{up.stderr}")
            figures |= {f"stack_{k}": v for k, v in json.loads((folder / "stack.json").read_text())["startup"].items()}
    figures = {k: round(v, 2) for k, v in figures.items()}
    figures["cold_ratio"] = round(figures["flow_cold_s"] / figures["dvc_repro_cold_s"], 3)
    out = REPO / ".bench/bench_flow.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"dag": args.dag, **figures}, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()

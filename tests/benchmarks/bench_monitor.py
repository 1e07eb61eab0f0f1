"""Benchmark: one whole monitoring run over a window of logged predictions, beside Evidently's preset on the same data.

    .venv/bin/python tests/benchmarks/bench_monitor.py                       # 1M logged predictions x 15 features
    .venv/bin/python tests/benchmarks/bench_monitor.py --rows 100000 --evidently-max-rows 0
    .venv/bin/python tests/benchmarks/bench_monitor.py --evidently-max-rows 0 --log-format json   # the old log

Not a test (nothing asserts a time). Data: tests/benchmarks/bench_drift.py `bench_data` (15 columns, 3 drifting), N
reference rows (the version's training data) and N current rows written as the server writes its prediction log
(Parquet under date=YYYY-MM-DD/hour=HH/, one row per instance, typed `input.<field>` columns and `output.values`;
10 files; `--log-format json`: as it wrote it before, under date=YYYY-MM-DD/ with the inputs and outputs as JSON
cells), plus labels for every
row as the feedback route writes them (ground_truth/feedback-*.parquet). A setup process writes the files; the
measured process then runs what `tasks.monitoring.window.monitor` runs for one window of N rows: read the log
(local, or S3 with --s3-endpoint), read and join the labels, cut the window, assess it (data drift calibrated on the
reference's own windows, adversarial validation, prediction drift, performance with its labelled count), write the
verdict JSON, the window's page, the history and the index. Left out: loading the SavedModel to score the reference
(once per version, TensorFlow's cost, not the window's): the reference outputs are given. Evidently: its
DataDriftPreset verdict (tests/benchmarks/evidently_baseline.py) on the same reference and current frames, without
HTML. Imports are done before the clock starts on both sides (ours: about 3 s of scipy and scikit-learn, paid once
per process). Each case runs in its own process; peak RSS is read by the parent with getrusage(RUSAGE_CHILDREN)
and includes the imports. Target from the issue: the whole run <= 3 s and <= 1 GB on 2 cores. Figures go to stdout and
.bench/bench_monitor.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
BENCH_DIR = Path(os.environ.get("TRAINLINE_BENCH_DIR", REPO / ".bench"))
FILES = 10


def setup(root: Path, rows: int, s3: str | None, log_format: str) -> None:
    """Write the reference, its outputs, the log (`typed` or `json`) and the labels under `root` (or the log on
    S3)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tasks.serving.log_table import columns_table, request_schema
    from tests.benchmarks.bench_drift import CATEGORICAL, NUMERIC, bench_data

    nulls = {"shadow_version": pa.int64(), "warnings": pa.string(), "refused": pa.string()}

    reference, current = bench_data(rows)
    reference.to_parquet(root / "reference.parquet", index=False)
    rng = np.random.default_rng(1)
    np.save(root / "reference_outputs.npy", reference["num_1"].to_numpy() + rng.normal(0, 1, rows))
    served = current["num_1"].to_numpy() + rng.normal(0, 1, rows)
    truth = current["num_1"].to_numpy() * 1.1
    fields = [*NUMERIC, *CATEGORICAL]
    start = pd.Timestamp("2026-01-05", tz="UTC")
    per_file = -(-rows // FILES)
    outputs: list[tuple[str, bytes]] = []
    for k in range(FILES):
        part = slice(k * per_file, min(rows, (k + 1) * per_file))
        n = part.stop - part.start
        if n <= 0:
            break
        ids = [f"r{i:08d}" for i in range(part.start, part.stop)]
        times = (start + pd.to_timedelta(np.arange(part.start, part.stop), unit="ms")).to_numpy()
        if log_format == "json":  # the log as the server wrote it before typed columns and hour partitions
            table = pa.Table.from_pydict(
                {
                    "request_id": ids,
                    "instance": np.zeros(n, dtype="int32"),
                    "time": times,
                    "model": ["bench"] * n,
                    "version": np.ones(n, dtype="int64"),
                    "input": [json.dumps(r) for r in current[fields].iloc[part].to_dict("records")],
                    "output": [f"[{v!r}]" for v in served[part].tolist()],
                    "shadow_version": pa.nulls(n, pa.int64()),
                    "shadow_output": pa.nulls(n, pa.string()),
                    "warnings": pa.nulls(n, pa.string()),
                    "refused": pa.nulls(n, pa.string()),
                },
                schema=request_schema(),
            )
            name = f"date=2026-01-05/part-{k:04d}.parquet"
        else:  # as the server writes it now: one request per row, typed columns (tasks/serving/log_table.py)
            per_request = {"request_id": ids, "time": times, "model": ["bench"] * n, "version": np.ones(n, "int64")}
            base = pa.table({**per_request, **{c: pa.nulls(n, t) for c, t in nulls.items()}})
            inputs = {f: [current[f].to_numpy()[part]] for f in fields}
            instance = np.zeros(n, "int32")
            table = columns_table(base, instance, np.array([n]), inputs, [served[part].reshape(-1, 1)], [None])
            name = f"date=2026-01-05/hour=00/part-{k:04d}.parquet"  # the bench's 1M rows are 17 minutes
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        outputs.append((name, sink.getvalue().to_pybytes()))
    labels = pd.DataFrame({"request_id": [f"r{i:08d}" for i in range(rows)], "instance": 0, "label": truth})
    label_file = root / "labels.parquet"
    labels.to_parquet(label_file, index=False)
    outputs.append(("ground_truth/feedback-0000.parquet", label_file.read_bytes()))
    for name, data in outputs:
        if s3:
            bucket, _, prefix = s3.removeprefix("s3://").partition("/")
            _client().put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=data)
        else:
            (root / "log" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "log" / name).write_bytes(data)


def _client() -> Any:
    from tasks.data.s3_source import S3Settings, make_client

    return make_client(S3Settings())


def run_case(engine: str, root: Path, rows: int, s3: str | None) -> dict[str, Any]:
    import pandas as pd

    from tests.benchmarks.bench_drift import CATEGORICAL, NUMERIC

    reference = pd.read_parquet(root / "reference.parquet")
    reference_outputs = np.load(root / "reference_outputs.npy")
    if engine == "evidently":
        import evidently.presets  # noqa: F401  (the import is not what is measured)

        from tests.benchmarks.bench_drift import bench_data
        from tests.benchmarks.evidently_baseline import preset_verdict

        _, current = bench_data(rows)
        began = time.perf_counter()
        summary = preset_verdict(reference, current, NUMERIC, CATEGORICAL, drift_share=0.5)
        return {"seconds": time.perf_counter() - began, "drifted_columns": summary["drifted_columns"]}

    import tasks.monitoring.data_drift
    import tasks.monitoring.prediction_signals  # noqa: F401
    from tasks.monitoring.history import record_windows, write_verdict
    from tasks.monitoring.log_files import log_folder
    from tasks.monitoring.log_reader import join_ground_truth, read_ground_truth, read_prediction_log
    from tasks.monitoring.page import write_monitoring_index, write_window_page
    from tasks.monitoring.reference import Reference
    from tasks.monitoring.window import MonitoringSettings, assess_window
    from tasks.monitoring.windows import WindowRule, cut_windows

    card = {
        "task": "regression",
        "inputs": {"numeric": NUMERIC, "categorical": {c: "int64" for c in CATEGORICAL}},
        "output": {"meaning": "target"},
        "metrics": {"model": {"rmse": 1.0, "mae": 0.8}},
    }
    ref = Reference("bench", 1, card, reference, "bench")
    where = s3 or str(root / "log")
    out = root / "reports"
    settings = MonitoringSettings(WindowRule("rows", rows, rows), where, f"{where}/ground_truth", out, evidently_rows=0)
    client = _client() if s3 else None
    began = time.perf_counter()
    logged = read_prediction_log(log_folder(where, client), "bench")
    truth = read_ground_truth(log_folder(f"{where}/ground_truth", client), "target")
    read_s = time.perf_counter() - began
    (window,) = cut_windows(join_ground_truth(logged, truth, "target"), settings.rule)  # as production_windows
    verdict = assess_window(ref, reference_outputs, window.rows, window.bounds(), settings)
    write_verdict(out, verdict)
    write_window_page(out, verdict)
    write_monitoring_index(out, record_windows(out, [verdict]))
    return {
        "seconds": time.perf_counter() - began,
        "read_and_join_seconds": read_s,
        "verdict": verdict["verdict"],
        "signals_fired": verdict["signals_fired"],
        "drifted_columns": verdict["data_drift"]["drifted_columns"],
        "labelled_rows": verdict["labelled_rows"],
    }


def child(args: list[str]) -> dict[str, Any]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        **json.loads(done.stdout.strip().splitlines()[-1]),
        "process_s": time.perf_counter() - began,
        "peak_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--evidently-max-rows", type=int, default=1_000_000)
    parser.add_argument("--s3", help="s3://bucket/prefix to put the log on (AWS_ENDPOINT_URL and credentials set)")
    parser.add_argument(
        "--log-format",
        choices=["typed", "json"],
        default="typed",
        help="typed: the log as the server writes it (hour partitions, input.<field> columns); json: as it wrote it "
        "before (date partitions, one JSON cell of inputs per row)",
    )
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup(Path(args.setup), args.rows, args.s3, args.log_format)
        print("{}")
        return
    if args.case:
        engine, root, rows = args.case
        print(json.dumps(run_case(engine, Path(root), int(rows), args.s3), default=str))
        return
    s3 = ["--s3", args.s3] if args.s3 else []
    results: dict[str, Any] = {
        "rows": args.rows,
        "columns": 15,
        "cores": os.cpu_count(),
        "log": args.s3 or "local",
        "log_format": args.log_format,
    }
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        # the peak of the setup is not reported
        child(["--setup", tmp, "--rows", str(args.rows), "--log-format", args.log_format, *s3])
        # RUSAGE_CHILDREN is the maximum over all children: each measured case gets its own parent process
        results["monitor"] = _isolated(["--case", "ours", tmp, str(args.rows), *s3])
        if args.rows <= args.evidently_max_rows:
            results["evidently"] = _isolated(["--case", "evidently", tmp, str(args.rows)])
    print(json.dumps(results, indent=2))
    BENCH_DIR.mkdir(exist_ok=True)
    suffix = "" if args.log_format == "typed" else "_json"
    (BENCH_DIR / f"bench_monitor{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")


def _isolated(args: list[str]) -> dict[str, Any]:
    """Run `child(args)` from a fresh parent, so its peak RSS is the case's alone."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from tests.benchmarks.bench_monitor import child; print(json.dumps(child(sys.argv[2:])))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(REPO), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()

"""Benchmark: the serving REST API on loopback against calling the SavedModel in process.

    .venv/bin/python tests/benchmarks/bench_serving.py                       # the local store's production model
    .venv/bin/python tests/benchmarks/bench_serving.py --requests 1000       # shorter runs
    .venv/bin/python tests/benchmarks/bench_serving.py --tiny                # a tiny model trained on the spot

Not a test (pytest does not collect it, nothing asserts a time). The server runs as its own process
(`python -m tasks.serving --port 0`, as `make serve` does); this process is the client: an open-loop load at a
fixed request rate (request i is sent at t0 + i/rate by a pool of keep-alive connections), with single-row and
64-row requests, with and without the prediction log. Latency is measured from sending to the full answer.
Beside it, the same rows go through the SavedModel's `serving_default` in this process, one call at a time:
the ratio server p50 / in-process p50 is the cost of HTTP, JSON, checks and logging. Figures go to
.bench/bench_serving.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def percentiles(latencies_s: list[float]) -> dict[str, float]:
    ms = np.asarray(latencies_s) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}


def start_server(store: Path, model: str, log_dir: str) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "tasks.serving", "--store", str(store), "--model", model, "--port", "0"]
    command += ["--log-dir", log_dir]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TRAINLINE_SERVING_TOKEN", None)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    match = re.search(r":(\d+)$", process.stdout.readline().strip())
    if not match:
        process.kill()
        raise SystemExit("the server did not start")
    return process, int(match[1])


def stop_server(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def fixed_rate_load(port: int, path: str, body: bytes, rate: float, requests: int, workers: int) -> dict[str, Any]:
    """Send `requests` requests at `rate`/s; request i leaves at t0 + i/rate (or as soon as a worker is free)."""
    latencies: list[float] = []
    lags: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(requests))
    start = time.perf_counter() + 0.2

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent = time.perf_counter()
            try:
                connection.request("POST", path, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException) as err:
                ok, payload = False, str(err).encode()
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            done = time.perf_counter()
            with lock:
                if ok:
                    latencies.append(done - sent)
                    lags.append(max(0.0, sent - due))
                else:
                    errors.append(payload[:200].decode(errors="replace"))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "requests": requests,
        "rate_target": rate,
        "errors": len(errors),
        "first_errors": errors[:3],
        "throughput_rps": len(latencies) / elapsed,
        "send_lag_p99_ms": float(np.percentile(np.asarray(lags) * 1000, 99)) if lags else None,
        **(percentiles(latencies) if latencies else {}),
    }


def in_process(savedmodel: Path, rows: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    """The same rows through the SavedModel's serving_default in this process, one call at a time."""
    import tensorflow as tf

    function = tf.saved_model.load(str(savedmodel)).signatures["serving_default"]
    specs = function.structured_input_signature[1]
    feeds = {
        name: tf.constant(np.asarray([row[name] for row in rows]).reshape((len(rows), *spec.shape[1:])), spec.dtype)
        for name, spec in specs.items()
    }
    for _ in range(20):
        function(**feeds)
    latencies = []
    for _ in range(repeats):
        began = time.perf_counter()
        function(**feeds)
        latencies.append(time.perf_counter() - began)
    return {"calls": repeats, **percentiles(latencies)}


def tiny_store(workdir: Path) -> tuple[Path, str, list[dict[str, Any]]]:
    from tasks.store.model_store import ModelStore
    from tests.serving.tiny_models import bike_model

    tiny = bike_model(workdir)
    store = ModelStore(workdir / "store", "bike_demand")
    export = tiny.versions[1]
    store.add_version(export / "savedmodel", {"model_card.json": export / "model_card.json"})
    store.promote(1, "benchmark")
    return workdir / "store", "bike_demand", tiny.instances


def production_rows(store: Path, model: str) -> list[dict[str, Any]]:
    """Rows of the current test split, as JSON instances."""
    import pandas as pd

    version = json.loads((store / model / "production.json").read_text())["version"]
    card = json.loads((store / model / str(version) / "assets.extra/model_card.json").read_text())
    names = [spec["name"] for spec in card["signature"]["inputs"]]
    test = pd.read_parquet(REPO / "data/features/test.parquet")
    return [{n: _plain(test[n].iloc[i]) for n in names} for i in range(min(len(test), 256))]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="data/model_store")
    parser.add_argument("--model", default="bike_demand")
    parser.add_argument("--tiny", action="store_true", help="train a tiny bike model instead of using the store")
    parser.add_argument("--requests", type=int, default=10_000, help="single-row requests at --rate")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--batch-requests", type=int, default=2_000)
    parser.add_argument("--batch-rate", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=3_000, help="closed-loop run, 4 connections")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    try:
        if args.tiny or not (REPO / args.store / args.model / "production.json").exists():
            store, model, rows = tiny_store(workdir)
        else:
            store, model = REPO / args.store, args.model
            rows = production_rows(store, model)
        version = json.loads((store / model / "production.json").read_text())["version"]
        savedmodel = store / model / str(version)
        single = json.dumps({"instances": rows[:1]}).encode()
        batch = json.dumps({"instances": (rows * 64)[:64]}).encode()
        path = f"/v1/models/{model}:predict"
        results: dict[str, Any] = {"model": model, "version": version, "cpus": os.cpu_count()}

        process, port = start_server(store, model, str(workdir / "log"))
        try:
            fixed_rate_load(port, path, single, 50, 200, 2)  # warm the connection pool and the server
            results["single_row_log_on"] = fixed_rate_load(port, path, single, args.rate, args.requests, args.workers)
            results["rows64_log_on"] = fixed_rate_load(
                port, path, batch, args.batch_rate, args.batch_requests, args.workers
            )
            results["single_row_max_throughput"] = fixed_rate_load(port, path, single, 10_000, args.max_requests, 4)
        finally:
            stop_server(process)
        log_files = list((workdir / "log").rglob("*.parquet"))
        results["log_files"] = len(log_files)
        results["log_bytes"] = sum(f.stat().st_size for f in log_files)

        process, port = start_server(store, model, "none")
        try:
            fixed_rate_load(port, path, single, 50, 200, 2)
            results["single_row_log_off"] = fixed_rate_load(
                port, path, single, args.rate, max(args.requests // 3, 500), args.workers
            )
            results["rows64_log_off"] = fixed_rate_load(
                port, path, batch, args.batch_rate, max(args.batch_requests // 2, 200), args.workers
            )
        finally:
            stop_server(process)

        results["in_process_single_row"] = in_process(savedmodel, rows[:1], 2000)
        results["in_process_rows64"] = in_process(savedmodel, (rows * 64)[:64], 1000)
        for kind, key in (("single_row", "in_process_single_row"), ("rows64", "in_process_rows64")):
            results[f"ratio_p50_{kind}"] = results[f"{kind}_log_on"]["p50_ms"] / results[key]["p50_ms"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    out = REPO / ".bench" / "bench_serving.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"model {results['model']} v{results['version']} on {results['cpus']} CPUs (server and client share them)")
    print(f"{'run':<28}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, figures in results.items():
        if isinstance(figures, dict) and "p50_ms" in figures:
            count = figures.get("requests", figures.get("calls"))
            rps = f"{figures['throughput_rps']:.1f}" if "throughput_rps" in figures else "-"
            errors = figures.get("errors", "-")
            print(f"{name:<28}{count:>9}{errors!s:>7}{rps:>9}{figures['p50_ms']:>9.2f}{figures['p99_ms']:>9.2f}")
    print(
        f"p50 ratio server/in-process: single row {results['ratio_p50_single_row']:.1f}x, "
        f"64 rows {results['ratio_p50_rows64']:.1f}x; log: {results['log_files']} files, {results['log_bytes']:,} bytes"
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()

"""The closed loop in one command (`make demo`): drift in production -> retraining -> gate -> deploy, on this machine.

    python -m infra.demo [--workdir DIR] [--epochs N] [--months 5 6 7 8] [--timeout-s 1800]

1. copies this repository (tracked and untracked-but-not-ignored files) into a fresh working copy (your own working
   copy is never touched) and starts the local stack for it (infra/stack.py: Prefect server, worker, SeaweedFS,
   the deployments of infra/prefect.yaml, among them retraining/on-drift);
2. trains and deploys version 1 on the data before May 2011 (`dvc repro`, collect.as_of as committed);
3. starts the model server (python -m tasks.serving) on a free loopback port;
4. replays later months of the bike data through the REST API as production traffic (one request per day of 24
   hours, with request ids), then delivers their true counts as ground truth (`<log>/ground_truth/`);
5. runs production monitoring (python -m tasks.monitoring.window --emit-event): windows of the log against version
   1's training data; a drifted window emits trainline.drift.detected;
6. the event starts the retraining deployment on the stack's worker: collect.as_of moves to the end of the drifted
   window, the DAG retrains on the newer data, the gate compares the candidate with version 1, deploy promotes it;
7. while this happens a client keeps calling the server; the demo waits until the server answers with version 2
   and counts failed requests (there must be none);
8. stops the server and the stack and prints where every report is (the working copy is left for you to read).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from infra import stack as local_stack

REPO = Path(__file__).resolve().parent.parent
MODEL = "bike_demand"
WINDOW_ROWS = 720  # about a month of hourly rows


class DemoError(RuntimeError):
    pass


def step(number: int | str, text: str) -> None:
    print(f"\n[demo {number}] {text}", flush=True)


def copy_working_copy(dest: Path) -> Path:
    """The repository's files (tracked and untracked-but-not-ignored) in a fresh git repository at `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for committed_output in ("reports/monitoring/drift.json", "data/deploy/receipt.json"):
        (dest / committed_output).unlink(missing_ok=True)
    return dest


def configure(root: Path, epochs: int) -> None:
    """The demo's params in the copy: fewer epochs, a fast-polling server and log, month-sized windows, and flow runs
    that wait for each other on the working copy instead of stopping."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"] |= {"epochs": epochs, "patience": min(params["train"]["patience"], 8)}
    params["evaluate"]["permutation_repeats"] = 1
    # summer lies far outside the winter v1 learnt from: answer and log it (counted in /metrics), so monitoring sees it
    params["serving"] |= {"poll_s": 1, "out_of_range": "warn"}
    params["serving"]["log"] |= {"flush_rows": 500, "flush_s": 1}
    params["monitoring"] |= {"window": {"size": WINDOW_ROWS, "step": WINDOW_ROWS}, "min_rows": 200}
    params["monitoring"]["drift"] = {**(params["monitoring"].get("drift") or {}), "expected_to_change": ["season"]}
    params["orchestrate"]["lock_wait_s"] = 3600
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=demo", "-c", "user.email=demo@localhost"]
    for command in (["git", "init", "-q"], [*git, "add", "-A"], [*git, "commit", "-qm", "demo working copy"]):
        subprocess.run(command, cwd=root, check=True, capture_output=True)


def run(command: list[str], cwd: Path, env: dict[str, str], timeout_s: float) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        raise DemoError(f"{' '.join(command)} failed ({done.returncode}):\n{output}")
    return done.stdout + done.stderr


def production_version(root: Path) -> int | None:
    pointer = root / "data/model_store" / MODEL / "production.json"
    return json.loads(pointer.read_text())["version"] if pointer.is_file() else None


class Server:
    """python -m tasks.serving on a free loopback port, in its own process group."""

    def __init__(self, root: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tasks.serving", "--port", "0"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            start_new_session=True,
        )
        line = self.process.stdout.readline()  # "serving <model> from <store> on http://127.0.0.1:<port>"
        if "http://" not in line:
            raise DemoError(f"the server did not start: {line!r}; see {log}")
        self.url = line.strip().rsplit(" ", 1)[-1]
        deadline = time.monotonic() + 180
        while not self._healthy():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise DemoError(f"the server never became healthy; see {log}")
            time.sleep(0.5)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def predict(self, rows: list[dict[str, Any]], request_id: str) -> tuple[int, str | None]:
        body = json.dumps({"instances": rows}).encode()
        request = urllib.request.Request(
            f"{self.url}/v1/models/{MODEL}:predict",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Request-Id": request_id},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, answer.headers.get("X-Model-Version")
        except urllib.error.HTTPError as err:
            return err.code, None
        except (urllib.error.URLError, OSError):
            return 0, None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 2)  # SIGINT: the server flushes its prediction log and exits
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def bike_rows(root: Path) -> tuple[pd.DataFrame, list[str]]:
    """The bundled source with its timestamp, and the model's input columns (from the production card)."""
    from pipelines.bike_demand import derive_timestamp

    source = pd.read_csv(root / "data/sources/bikeshare-2011.csv.gz")
    card = json.loads((root / "data/export/model_card.json").read_text())
    names = [*card["inputs"]["numeric"], *card["inputs"]["categorical"]]
    return source.assign(timestamp=derive_timestamp(source)), names


def replay(server: Server, rows: pd.DataFrame, names: list[str], log_dir: Path) -> int:
    """Send `rows` one day (24 rows) per request, in time order; then deliver their true counts as ground truth."""
    keys = []
    for day, part in rows.groupby(rows["timestamp"].dt.strftime("%Y-%m-%d"), sort=True):
        request_id = f"replay-{day}"
        status, _ = server.predict(json.loads(part[names].to_json(orient="records")), request_id)
        if status != 200:
            raise DemoError(f"request {request_id} answered {status}")
        keys += [(request_id, i, int(count)) for i, count in enumerate(part["bikers"])]
    truth = pd.DataFrame(keys, columns=["request_id", "instance", "bikers"])
    (log_dir / "ground_truth").mkdir(parents=True, exist_ok=True)
    truth.to_parquet(log_dir / "ground_truth" / "replayed-months.parquet", index=False)
    return len(truth)


class SteadyClient(threading.Thread):
    """Calls the server every `pause_s` with one row while the loop runs; counts answers by status and version."""

    def __init__(self, server: Server, rows: list[dict[str, Any]], pause_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.server, self.rows, self.pause_s = server, rows, pause_s
        self.answers: Counter[tuple[int, str | None]] = Counter()
        self.stopping = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stopping.is_set():
            status, version = self.server.predict([self.rows[i % len(self.rows)]], f"steady-{i:06d}")
            self.answers[(status, version)] += 1
            i += 1
            time.sleep(self.pause_s)

    def failed(self) -> int:
        return sum(n for (status, _), n in self.answers.items() if status != 200)

    def versions(self) -> set[str | None]:
        return {version for (status, version) in self.answers if status == 200}


def demo(workdir: Path, epochs: int, months: list[int], timeout_s: float) -> dict[str, Any]:
    began = time.monotonic()
    root = workdir / "trainline"
    root.mkdir(parents=True)
    step(1, f"working copy {root} (a copy of {REPO}); starting the local stack")
    copy_working_copy(root)
    configure(root, epochs)
    stack = local_stack.Stack(workdir / "stack", root)
    server: Server | None = None
    client: SteadyClient | None = None
    try:
        state = local_stack.up(stack)
        env = stack.client_environment()
        print(
            f"  Prefect UI {state['prefect_ui']}; deployments registered, worker on pool 'local' "
            f"({state['startup']['total_s']} s)"
        )

        as_of = yaml.safe_load((root / "pipelines/bike_demand/params.yaml").read_text())["collect"]["as_of"]
        step(2, f"training and deploying version 1 on the data before {as_of} (dvc repro)")
        t0 = time.monotonic()
        run([local_stack.venv_tool("dvc"), "repro"], root, env, timeout_s)
        metrics = json.loads((root / "reports/evaluation/metrics.json").read_text())["model"]
        print(
            f"  version {production_version(root)} in production; test RMSE {metrics['rmse']:.1f} "
            f"({time.monotonic() - t0:.0f} s)"
        )

        step(3, "starting the model server")
        server = Server(root, env, workdir / "server.log")
        print(f"  {server.url} serves version {production_version(root)}")

        step(4, f"replaying months {months} of 2011 as production traffic, then their true counts as ground truth")
        source, names = bike_rows(root)
        replayed = source[source["timestamp"].dt.month.isin(months)]
        delivered = replay(server, replayed, names, root / "data/prediction_log")
        later = source[source["timestamp"].dt.month == max(months) + 1]
        client = SteadyClient(server, json.loads(later[names].to_json(orient="records")))
        client.start()
        time.sleep(3)  # the server's log writer flushes every second
        print(
            f"  {len(replayed)} rows in {replayed['timestamp'].dt.date.nunique()} requests; {delivered} true "
            "counts delivered; a client keeps calling the server from now on"
        )

        step(5, "production monitoring: windows of the prediction log against version 1's training data")
        out = run([sys.executable, "-m", "tasks.monitoring.window", "--emit-event"], root, env, timeout_s)
        print("  " + "\n  ".join(line for line in out.splitlines() if "[monitoring]" in line or "assessed" in line))
        history = pd.read_parquet(root / "reports/monitoring/history.parquet")
        fired = history[history["fired"]].groupby("window_id")["signal"].apply(list).to_dict()
        if not fired:
            raise DemoError("monitoring found no drift in the replayed months; nothing to retrain on")
        print(f"  signals fired per window: {fired}")

        step(
            6,
            "the drift event starts retraining/on-drift on the stack's worker (collect.as_of moves forward, the "
            "DAG retrains, the gate compares with version 1, deploy promotes the candidate)",
        )
        deadline = time.monotonic() + timeout_s
        while production_version(root) in (None, 1):
            if time.monotonic() > deadline:
                raise DemoError(f"no new version after {timeout_s} s; see {stack.log('worker')}")
            time.sleep(5)
        new_version = production_version(root)
        blessing = json.loads((root / "data/evaluation/blessing.json").read_text())
        print(f"  version {new_version} promoted; gate: {'; '.join(blessing.get('reasons', []))[:400]}")

        step(7, f"waiting for the server to answer with version {new_version}")
        while str(new_version) not in client.versions():
            if time.monotonic() > deadline:
                raise DemoError(f"the server never answered with version {new_version}")
            time.sleep(1)
        time.sleep(2)
        client.stopping.set()
        client.join(timeout=30)
        print(f"  answers by (status, version): {dict(client.answers)}; failed requests: {client.failed()}")
        if client.failed():
            raise DemoError(f"{client.failed()} request(s) failed during the swap")
        return {
            "workdir": str(root),
            "new_version": new_version,
            "windows_fired": fired,
            "answers": {f"{s} v{v}": n for (s, v), n in client.answers.items()},
            "wall_s": round(time.monotonic() - began, 1),
        }
    finally:
        if client is not None:
            client.stopping.set()
        if server is not None:
            server.stop()
        local_stack.down(stack)
        step(8, "stopped the server and the stack. Reports (open offline):")
        for path in (
            "reports/index.html",
            "reports/monitoring/index.html",
            "reports/evaluation/index.html",
            "data/evaluation/blessing.json",
            "data/deploy/receipt.json",
            "reports/history/index.html",
        ):
            print(f"  {root / path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, help="for the working copy and the stack (default: a new temp dir)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--months", type=int, nargs="+", default=[5, 6, 7, 8], help="months of 2011 to replay")
    parser.add_argument("--timeout-s", type=float, default=1800)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="trainline-demo-"))
    try:
        result = demo(workdir.resolve(), args.epochs, sorted(args.months), args.timeout_s)
    except (DemoError, local_stack.StackError) as err:
        print(f"\n[demo] FAILED: {err}", file=sys.stderr)
        return 1
    print(f"\n[demo] done in {result['wall_s']} s: version {result['new_version']} in production.")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The distributed code paths of the train stage, run for real on CPUs: MultiWorkerMirroredStrategy across two
processes on loopback (TF_CONFIG), where only the chief writes outputs. (No GPU here: mixed precision and
MirroredStrategy over GPUs are selected by tasks.training.hardware, whose choice is unit-tested in test_hardware.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tests.image_workspace import free_port, make_workspace, start_training
from tests.processes import kill_tree

# How TensorFlow's gRPC server says the port it was given was taken by another process after free_port() probed it.
PORT_CLASH = ("address already in use", "failed to add port")
ATTEMPTS = 3


def train_two_workers(workspace: Path, timeout_s: float = 600) -> tuple[list[int | None], list[str]]:
    """Both workers of a two-worker cluster on loopback, to the end; on a port clash, again on new ports. When one
    worker fails the other would wait for it forever: it is killed then."""
    for attempt in range(1, ATTEMPTS + 1):
        cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
        workers = [
            start_training(
                workspace, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            )
            for i in range(2)
        ]
        outputs = ["", ""]
        readers = [threading.Thread(target=_collect, args=(outputs, i, w), daemon=True) for i, w in enumerate(workers)]
        for reader in readers:
            reader.start()
        try:
            deadline = time.monotonic() + timeout_s
            while any(r.is_alive() for r in readers) and time.monotonic() < deadline:
                if any(w.poll() not in (None, 0) for w in workers):
                    break
                time.sleep(0.5)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    kill_tree(worker)
            for reader in readers:
                reader.join(timeout=30)
        clash = any(sign in output.lower() for output in outputs for sign in PORT_CLASH)
        if clash and attempt < ATTEMPTS:
            for leftover in ("data/model", "data/train_state"):
                shutil.rmtree(workspace / leftover, ignore_errors=True)
            continue
        return [w.returncode for w in workers], outputs
    raise AssertionError("unreachable")


def _collect(outputs: list[str], index: int, worker: subprocess.Popen[str]) -> None:
    outputs[index] = worker.communicate()[0]  # reads as it goes: a full pipe never blocks a worker


TRAIN = {"epochs": 2, "batch_size": 64, "patience": 5, "filters": [8], "dense_units": 16, "tensorboard": False}


def test_two_workers_train_together_and_only_the_chief_writes(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, TRAIN, every_nth_image=4)
    codes, outputs = train_two_workers(workspace)
    assert codes == [0, 0], "\n---\n".join(outputs)
    assert "multi_worker strategy" in outputs[0] and "chief" in outputs[0]
    assert "worker 1 (writes no outputs)" in outputs[1]

    summary = json.loads((workspace / "data/model/train.json").read_text())
    hardware = summary["hardware"]
    assert (hardware["strategy"], hardware["workers"], hardware["replicas"]) == ("multi_worker", 2, 2)
    assert hardware["is_chief"] and summary["epochs_run"] == 2
    assert (workspace / "data/model/model.keras").is_file()
    # Worker 1 trained into scratch folders and left nothing behind; neither left resume state.
    assert sorted(p.name for p in (workspace / "data").iterdir()) == [
        "features",
        "model",
        "runs",
        "train_state",
    ]  # runs/: wall-clock facts, outside DVC
    assert list((workspace / "data/train_state").iterdir()) == []

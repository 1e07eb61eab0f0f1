"""The distributed code paths of the train stage, run for real on CPUs: MultiWorkerMirroredStrategy across two
processes on loopback (TF_CONFIG), where only the chief writes outputs. (No GPU here: mixed precision and
MirroredStrategy over GPUs are selected by tasks.hardware, whose choice is unit-tested in test_hardware.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.image_workspace import free_port, make_workspace, start_training

TRAIN = {"epochs": 2, "batch_size": 64, "patience": 5, "filters": [8], "dense_units": 16, "tensorboard": False}


def test_two_workers_train_together_and_only_the_chief_writes(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, TRAIN, every_nth_image=4)
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    workers = [
        start_training(workspace, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}))
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n---\n".join(outputs)
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
